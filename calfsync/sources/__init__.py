"""Sources: code that reads activities from the outside world (FIT files, Strava).

Sources never write rows; they return normalized :class:`calfsync.model.Activity` objects.
"""
