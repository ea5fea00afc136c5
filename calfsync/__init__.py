"""calfsync: sync runs from FIT files and Strava into SQLite and warn before the calf hurts."""

__version__ = "0.1.0"
