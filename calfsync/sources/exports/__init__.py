"""Account exports: Strava's archive and Garmin's data export, read without touching the database.

- :mod:`.archive`: a zip or an unzipped folder, read member by member with bounded inflation.
- :mod:`.strava_csv` (with :mod:`.csv_dates`): Strava's ``activities.csv`` in the account's
  language and ``shoes.csv``.
- :mod:`.tracks`: the GPX and TCX files Strava keeps, measured as the FIT path measures records.
- :mod:`.strava`: one CSV row and its file as activities.
- :mod:`.garmin`: the activity summaries and gear records of Garmin's export.

Saving is :mod:`calfsync.ingest.exports`. :func:`detect` tells which export a path is.
"""

from __future__ import annotations

from pathlib import Path

from .archive import Archive, open_archive

STRAVA = "strava"
GARMIN = "garmin"
GARMIN_MARKER = "DI_CONNECT/"


def detect(path: Path) -> str | None:
    """``"strava"`` for a zip or folder with ``activities.csv`` at its root, ``"garmin"`` for
    one holding ``DI_CONNECT/``, else None (plain FIT inputs). Never raises for a file that is
    not an archive."""
    try:
        with open_archive(path) as archive:
            return kind_of(archive)
    except (OSError, ValueError):
        return None


def kind_of(archive: Archive) -> str | None:
    """Which export ``archive`` holds (see :func:`detect`)."""
    if archive.has("activities.csv"):
        return STRAVA
    if archive.has_prefix(GARMIN_MARKER):
        return GARMIN
    return None
