"""Account exports built in code: Strava archives (activities.csv in English or German with its
repeated columns, FIT, GPX and TCX files) and Garmin exports (nested zips, JSON summaries)."""

from __future__ import annotations

import csv
import io
import json
import math
from datetime import UTC, datetime, timedelta
from typing import Any

from fit_support import zip_bytes

# The first 32 columns of real headers (see calfsync/sources/exports/strava_csv.py for where
# they come from): names repeat, so a row is written by (name, occurrence).
ENGLISH = [
    "Activity ID", "Activity Date", "Activity Name", "Activity Type", "Activity Description",
    "Elapsed Time", "Distance", "Max Heart Rate", "Relative Effort", "Commute",
    "Activity Private Note", "Activity Gear", "Filename", "Athlete Weight", "Bike Weight",
    "Elapsed Time", "Moving Time", "Distance", "Max Speed", "Average Speed", "Elevation Gain",
    "Elevation Loss", "Elevation Low", "Elevation High", "Max Grade", "Average Grade",
    "Average Positive Grade", "Average Negative Grade", "Max Cadence", "Average Cadence",
    "Max Heart Rate", "Average Heart Rate",
]  # fmt: skip
GERMAN = [
    "Aktivitäts-ID", "Aktivitätsdatum", "Name der Aktivität", "Aktivitätsart",
    "Aktivitätsbeschreibung", "Verstrichene Zeit", "Distanz", "Max. Herzfrequenz",
    "Relative Leistung", "Pendeln", "Hinweis zur Privatsphäre für Aktivitäten",
    "Aktivitätsausrüstung", "Dateiname", "Sportlergewicht", "Fahrradgewicht",
    "Verstrichene Zeit", "Bewegungszeit", "Distanz", "Höchstgeschw.",
    "Durchschnittliche Geschwindigkeit", "Höhenzunahme", "Höhenunterschied", "Min. Höhe",
    "Max. Höhe", "Max. Steigung", "Durchschnittliche Steigung",
    "Durchschnittliche positive Steigung", "Durchschnittliche negative Steigung",
    "Max. Tritt-/Schrittfrequenz", "Durchschnittliche Trittfrequenz", "Max. Herzfrequenz",
    "Durchschnittliche Herzfrequenz",
]  # fmt: skip
# field -> (column index in ENGLISH/GERMAN): both headers have the same order
COLUMN = {
    "id": 0, "date": 1, "name": 2, "type": 3, "elapsed": 5, "km": 6, "max_hr": 7, "gear": 11,
    "file": 12, "elapsed_exact": 15, "moving": 16, "metres": 17, "gain": 20, "max_hr_2": 30,
    "avg_hr": 31,
}  # fmt: skip


def strava_row(
    strava_id: int,
    date: str,
    name: str,
    kind: str = "Run",
    *,
    km: float = 10.0,
    minutes: float = 50.0,
    file: str = "",
    gear: str = "",
    max_hr: int | None = None,
) -> dict[str, str]:
    """One activity's cells by field (see :data:`COLUMN`); the first Distance in km with two
    decimals, the second in metres, as Strava writes them."""
    return {
        "id": str(strava_id),
        "date": date,
        "name": name,
        "type": kind,
        "elapsed": str(int(minutes * 60)),
        "km": f"{km:.2f}",
        "metres": f"{km * 1000:.1f}",
        "elapsed_exact": f"{minutes * 60:.1f}",
        "moving": f"{minutes * 60 - 30:.1f}",
        "file": file,
        "gear": gear,
        "max_hr": str(max_hr) if max_hr else "",
        "max_hr_2": f"{max_hr:.1f}" if max_hr else "",
        "gain": "55.0",
    }


def activities_csv(rows: list[dict[str, str]], header: list[str] = ENGLISH) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(header)
    for row in rows:
        cells = [""] * len(header)
        for key, value in row.items():
            if key in COLUMN and COLUMN[key] < len(header):
                cells[COLUMN[key]] = value
        writer.writerow(cells)
    return buf.getvalue().encode()


SHOES_CSV = (
    b"Shoe Name,Shoe Brand,Shoe Model,Shoe Default Sport Types\nPegasus 40,Nike,Pegasus 40,Run\n"
)


def _track(start: datetime, km: float, minutes: float, step_s: int = 5) -> list[dict[str, Any]]:
    """Points along a straight line north, evenly paced, over rolling 20 m hills."""
    n = int(minutes * 60 / step_s)
    out = []
    for i in range(n + 1):
        t = i * step_s
        frac = t / (minutes * 60)
        out.append(
            {
                "time": start + timedelta(seconds=t),
                "lat": 45.0 + frac * km / 111.2,
                "lon": 6.0,
                "ele": 300.0 + 20.0 * math.sin(2 * math.pi * t / 600.0),
                "hr": 140 + (t // 300) % 20,
            }
        )
    return out


def _z(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def gpx_file(start: datetime, km: float = 10.0, minutes: float = 50.0) -> bytes:
    points = "".join(
        f'<trkpt lat="{p["lat"]:.6f}" lon="{p["lon"]:.6f}"><ele>{p["ele"]:.1f}</ele>'
        f"<time>{_z(p['time'])}</time><extensions><gpxtpx:TrackPointExtension>"
        f"<gpxtpx:hr>{p['hr']}</gpxtpx:hr></gpxtpx:TrackPointExtension></extensions></trkpt>"
        for p in _track(start, km, minutes)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<gpx creator="StravaGPX" version="1.1" '
        'xmlns="http://www.topografix.com/GPX/1/1" '
        'xmlns:gpxtpx="http://www.garmin.com/xmlschemas/TrackPointExtension/v1">'
        f"<trk><name>Run</name><type>running</type><trkseg>{points}</trkseg></trk></gpx>"
    ).encode()


def tcx_file(
    start: datetime, km: float = 30.0, minutes: float = 60.0, sport: str = "Biking"
) -> bytes:
    """A TCX file as Strava keeps them: whitespace before ``<?xml``."""
    track = _track(start, km, minutes)
    total = km * 1000
    points = "".join(
        f"<Trackpoint><Time>{_z(p['time'])}</Time><Position><LatitudeDegrees>{p['lat']:.6f}"
        f"</LatitudeDegrees><LongitudeDegrees>{p['lon']:.6f}</LongitudeDegrees></Position>"
        f"<AltitudeMeters>{p['ele']:.1f}</AltitudeMeters>"
        f"<DistanceMeters>{total * i / (len(track) - 1):.1f}</DistanceMeters>"
        f"<HeartRateBpm><Value>{p['hr']}</Value></HeartRateBpm></Trackpoint>"
        for i, p in enumerate(track)
    )
    return (
        '          \n  <?xml version="1.0" encoding="UTF-8"?>\n'
        '<TrainingCenterDatabase xmlns="http://www.garmin.com/xmlschemas/TrainingCenterDatabase/v2">'
        f'<Activities><Activity Sport="{sport}"><Id>{_z(start)}</Id>'
        f'<Lap StartTime="{_z(start)}"><TotalTimeSeconds>{minutes * 60:.1f}</TotalTimeSeconds>'
        f"<DistanceMeters>{total:.1f}</DistanceMeters><Track>{points}</Track></Lap>"
        "</Activity></Activities></TrainingCenterDatabase>"
    ).encode()


def strava_archive(
    rows: list[dict[str, str]],
    files: dict[str, bytes],
    *,
    header: list[str] = ENGLISH,
    shoes: bytes | None = SHOES_CSV,
) -> bytes:
    """A Strava archive zip: activities.csv at its root, the files under their names."""
    entries = {"activities.csv": activities_csv(rows, header), **files}
    if shoes is not None:
        entries["shoes.csv"] = shoes
    entries["profile.csv"] = b"Athlete ID,Email Address\n1,runner@example.org\n"
    return zip_bytes(entries)


def garmin_export(
    uploaded: dict[str, bytes],
    summaries: list[dict[str, Any]],
    gear: dict[str, Any] | None = None,
    *,
    part_name: str = "DI_CONNECT/DI-Connect-Uploaded-Files/UploadedFiles_0-_Part1.zip",
) -> bytes:
    """A Garmin export: the FIT files in a zip inside the zip, the summaries and gear JSON."""
    entries = {
        part_name: zip_bytes(uploaded),
        "DI_CONNECT/DI-Connect-Fitness/runner@example.org_0_summarizedActivities.json": json.dumps(
            [{"summarizedActivitiesExport": summaries}]
        ).encode(),
        "DI_CONNECT/DI-Connect-User/user_profile.json": b"{}",
    }
    if gear is not None:
        entries["DI_CONNECT/DI-Connect-Fitness/runner@example.org_gear.json"] = json.dumps(
            [gear]
        ).encode()
    return zip_bytes(entries)


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)
