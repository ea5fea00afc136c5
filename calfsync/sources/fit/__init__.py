"""FIT files, read only: finding them, decoding them, building activities. Nothing here writes rows.

- :mod:`.inputs`: files, folders, ``.fit.gz`` and zips at any depth, as labelled byte contents.
- :mod:`.parse`: one file's bytes to a ``FitResult`` (activities, status, reason); the import's
  worker processes run :func:`.parse.parse_job`.
- :mod:`.decode`: the adapter around the parser, the only module that imports ``fitparse``.
- :mod:`.frame`: the FIT CRC and a walk over the record framing that repairs odd-sized fields.
- :mod:`.activity`: one builder for the activity of a session, or rebuilt from records or laps.
- :mod:`.stream`: what the record stream says (climb, heart rate, distance).

Callers import the module they need; this package imports nothing, so a worker process loads
only what parsing needs.
"""
