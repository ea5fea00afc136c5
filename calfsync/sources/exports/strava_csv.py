"""Strava's ``activities.csv`` and ``shoes.csv``: columns found by name and position, in the
account's language.

The header follows the language of the Strava account and several names repeat: ``Distance``
(first in km, or miles for an imperial account, with two decimals; then in metres), ``Elapsed
Time`` (seconds, then seconds as a decimal), ``Max Heart Rate``, ``Relative Effort``,
``Commute``. A column is therefore placed by its name *and* which occurrence it is
(:data:`HEADERS`: per field, per language, the name and the occurrence). A field the import
needs that no name places fails the whole file with :class:`ColumnMissing`, which names the
field, the names tried and the header found, instead of a run read from the wrong column.

Where the header names come from (the names are public data, the wording is Strava's):

- English: Strava archives from 2019 on, as quoted in hugovk/strava-tools#1 and #2 and in
  martin-ueding/geo-activity-playground#403 (the 101-column header of 2026).
- German: the header quoted in martin-ueding/geo-activity-playground#191, #348 and #393.
- French: the header of a real archive reproduced in a public test fixture (21 columns, up to
  ``Dénivelé positif``; the average heart rate is Strava's French UI wording).
- Spanish: the first columns as a public Spanish-language test reproduces them (ID, date, name,
  type, file); the others are Strava's Spanish UI wording.
- Italian, Dutch, Portuguese: no public copy of a real header was found; the names are Strava's
  UI wording in those languages, limited to the fields below. When one is wrong the import
  stops with :class:`ColumnMissing` naming the field and showing the header: add the name here.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

from .csv_dates import DateParts, DateProblem, split_date

# field -> language -> (header name, occurrence: 1 = first, 2 = second)
HEADERS: dict[str, dict[str, tuple[str, int]]] = {
    "id": {
        "en": ("Activity ID", 1),
        "de": ("Aktivitäts-ID", 1),
        "fr": ("ID de l'activité", 1),
        "es": ("ID de actividad", 1),
        "it": ("ID attività", 1),
        "nl": ("Activiteit-ID", 1),
        "pt": ("ID da atividade", 1),
    },
    "date": {
        "en": ("Activity Date", 1),
        "de": ("Aktivitätsdatum", 1),
        "fr": ("Date de l'activité", 1),
        "es": ("Fecha de la actividad", 1),
        "it": ("Data dell'attività", 1),
        "nl": ("Activiteitsdatum", 1),
        "pt": ("Data da atividade", 1),
    },
    "name": {
        "en": ("Activity Name", 1),
        "de": ("Name der Aktivität", 1),
        "fr": ("Nom de l'activité", 1),
        "es": ("Nombre de la actividad", 1),
        "it": ("Nome attività", 1),
        "nl": ("Naam activiteit", 1),
        "pt": ("Nome da atividade", 1),
    },
    "type": {
        "en": ("Activity Type", 1),
        "de": ("Aktivitätsart", 1),
        "fr": ("Type d'activité", 1),
        "es": ("Tipo de actividad", 1),
        "it": ("Tipo di attività", 1),
        "nl": ("Activiteitstype", 1),
        "pt": ("Tipo de atividade", 1),
    },
    "elapsed_s": {
        "en": ("Elapsed Time", 1),
        "de": ("Verstrichene Zeit", 1),
        "fr": ("Temps écoulé", 1),
        "es": ("Tiempo transcurrido", 1),
        "it": ("Tempo trascorso", 1),
        "nl": ("Verstreken tijd", 1),
        "pt": ("Tempo decorrido", 1),
    },
    "distance": {  # km (miles for an imperial account), two decimals
        "en": ("Distance", 1),
        "de": ("Distanz", 1),
        "fr": ("Distance", 1),
        "es": ("Distancia", 1),
        "it": ("Distanza", 1),
        "nl": ("Afstand", 1),
        "pt": ("Distância", 1),
    },
    "filename": {
        "en": ("Filename", 1),
        "de": ("Dateiname", 1),
        "fr": ("Nom du fichier", 1),
        "es": ("Nombre del archivo", 1),
        "it": ("Nome file", 1),
        "nl": ("Bestandsnaam", 1),
        "pt": ("Nome do arquivo", 1),
    },
}
# Fields read when their column is there (older archives lack some).
OPTIONAL: dict[str, dict[str, tuple[str, int]]] = {
    "distance_m": {lang: (name, 2) for lang, (name, _) in HEADERS["distance"].items()},
    "elapsed_exact_s": {lang: (name, 2) for lang, (name, _) in HEADERS["elapsed_s"].items()},
    "gear": {
        "en": ("Activity Gear", 1),
        "de": ("Aktivitätsausrüstung", 1),
        "fr": ("Matériel utilisé pour l'activité", 1),
        "es": ("Equipo de la actividad", 1),
        "it": ("Attrezzatura attività", 1),
        "nl": ("Uitrusting activiteit", 1),
        "pt": ("Equipamento da atividade", 1),
    },
    "moving_s": {
        "en": ("Moving Time", 1),
        "de": ("Bewegungszeit", 1),
        "fr": ("Durée de déplacement", 1),
        "es": ("Tiempo en movimiento", 1),
        "it": ("Tempo in movimento", 1),
        "nl": ("Tijd in beweging", 1),
        "pt": ("Tempo em movimento", 1),
    },
    "ascent_m": {
        "en": ("Elevation Gain", 1),
        "de": ("Höhenzunahme", 1),
        "fr": ("Dénivelé positif", 1),
        "es": ("Desnivel positivo", 1),
        "it": ("Dislivello positivo", 1),
        "nl": ("Hoogteverschil", 1),
        "pt": ("Ganho de elevação", 1),
    },
    "max_hr": {
        "en": ("Max Heart Rate", 1),
        "de": ("Max. Herzfrequenz", 1),
        "fr": ("Fréquence cardiaque max.", 1),
        "es": ("Frecuencia cardiaca máx.", 1),
        "it": ("Frequenza cardiaca max", 1),
        "nl": ("Max. hartslag", 1),
        "pt": ("Frequência cardíaca máx.", 1),
    },
    "avg_hr": {
        "en": ("Average Heart Rate", 1),
        "de": ("Durchschnittliche Herzfrequenz", 1),
        "fr": ("Fréquence cardiaque moyenne", 1),
        "es": ("Frecuencia cardiaca media", 1),
        "it": ("Frequenza cardiaca media", 1),
        "nl": ("Gemiddelde hartslag", 1),
        "pt": ("Frequência cardíaca média", 1),
    },
}
MONTH_FIRST_LANGUAGES = frozenset({"en"})  # number-only dates put the month first in English
# shoes.csv (``Shoe Name,Shoe Brand,Shoe Model,Shoe Default Sport Types``, as a public copy of an
# English archive shows it); in another language, or without the file, shoes keep their name only.
SHOE_COLUMNS = {"name": ("Shoe Name",), "brand": ("Shoe Brand",), "model": ("Shoe Model",)}


class ColumnMissing(ValueError):
    """``activities.csv`` has no column for a field the import needs (the message says which,
    the names tried and the header found)."""


@dataclass
class CsvRow:
    """One row of ``activities.csv``, its fields as text (None: the column is not there),
    with the line number it came from for messages."""

    line: int
    fields: dict[str, str | None]
    date: DateParts | None = None
    problem: str | None = None  # why the row cannot be read

    def get(self, key: str) -> str | None:
        value = self.fields.get(key)
        return value.strip() if value and value.strip() else None


@dataclass
class CsvFile:
    """``activities.csv``: what the header said, and its rows read on demand (:meth:`rows`
    parses the text again each time, so no more than one row is held however long it is)."""

    language: str
    columns: dict[str, int]
    header_len: int
    text: str = field(repr=False)

    def rows(self) -> Iterator[CsvRow]:
        """The rows in file order; a row that cannot be read keeps its line number and the
        reason (``problem``), so one bad row stops nothing else."""
        reader = csv.reader(io.StringIO(self.text, newline=""))
        next(reader, None)
        for cells in reader:
            if any(c.strip() for c in cells):
                yield self._row(reader.line_num, cells)

    def _row(self, line: int, cells: list[str]) -> CsvRow:
        fields = {k: (cells[i] if i < len(cells) else None) for k, i in self.columns.items()}
        row = CsvRow(line, fields)
        date_text = row.get("date")
        if len(cells) <= max(self.columns.values()):
            row.problem = f"line {line} has {len(cells)} cells, not {self.header_len}"
        elif date_text is None:
            row.problem = f"line {line} has no activity date"
        else:
            try:
                row.date = split_date(date_text)
            except DateProblem as exc:
                row.problem = f"line {line}: {exc}"
        return row


def _normal(name: str) -> str:
    return " ".join(name.replace("\ufeff", "").split()).casefold()


def place_columns(header: list[str]) -> tuple[str, dict[str, int]]:
    """The header's language and the index of each field's column (see :data:`HEADERS`).

    Raises :class:`ColumnMissing` naming the first required field no name places.
    """
    seen: Counter[str] = Counter()
    where: dict[tuple[str, int], int] = {}
    for index, name in enumerate(header):
        key = _normal(name)
        seen[key] += 1
        where[(key, seen[key])] = index

    def index_of(table: dict[str, tuple[str, int]], lang: str) -> int | None:
        name, occurrence = table[lang]
        return where.get((_normal(name), occurrence))

    scores = {
        lang: sum(index_of(t, lang) is not None for t in HEADERS.values()) for lang in HEADERS["id"]
    }
    language = max(scores, key=lambda lang: scores[lang])
    columns: dict[str, int] = {}
    for key, table in HEADERS.items():
        index = index_of(table, language)
        if index is None:
            tried = ", ".join(f"'{n}'" for n, _ in dict.fromkeys(table.values()))
            occurrence = table[language][1]
            nth = " (its second occurrence)" if occurrence == 2 else ""
            shown = ", ".join(header[:16]) + (", ..." if len(header) > 16 else "")
            raise ColumnMissing(
                f"activities.csv has no column for the activity {key.replace('_', ' ')}"
                f"{nth}: tried {tried}; the header is: {shown}. "
                "If Strava renamed it, report the header line so the name can be added"
            )
        columns[key] = index
    for key, table in OPTIONAL.items():
        index = index_of(table, language)
        if index is not None:
            columns[key] = index
    return language, columns


def read_activities_csv(data: bytes) -> CsvFile:
    """Read the header of ``activities.csv`` (UTF-8, with or without a byte order mark); its
    rows come from :meth:`CsvFile.rows`. Raises :class:`ColumnMissing` for a header that
    cannot be placed."""
    text = data.decode("utf-8-sig", errors="replace")
    header = next(csv.reader(io.StringIO(text, newline="")), None)
    if not header:
        raise ColumnMissing("activities.csv is empty: no header line")
    language, columns = place_columns(header)
    return CsvFile(language, columns, len(header), text)


def read_shoes_csv(data: bytes) -> dict[str, dict[str, str | None]]:
    """``shoes.csv`` as {shoe name (case-folded): {"name", "brand", "model"}}; empty when the
    file has no shoe name column."""
    reader = csv.reader(io.StringIO(data.decode("utf-8-sig", errors="replace"), newline=""))
    header = [_normal(h) for h in next(reader, [])]
    index = {
        key: next((header.index(_normal(n)) for n in names if _normal(n) in header), None)
        for key, names in SHOE_COLUMNS.items()
    }
    if index["name"] is None:
        return {}
    shoes: dict[str, dict[str, str | None]] = {}
    for cells in reader:
        values = {
            key: (cells[i].strip() or None) if i is not None and i < len(cells) else None
            for key, i in index.items()
        }
        if values["name"]:
            shoes[values["name"].casefold()] = values
    return shoes
