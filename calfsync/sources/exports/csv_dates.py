"""The dates of Strava's ``activities.csv``, whatever the account's language.

Strava writes ``Activity Date`` the way the account's locale writes dates: ``Sep 12, 2018,
3:02:23 PM`` (English), ``12.09.2018, 15:02:23`` (German), ``12 sept. 2018, 15:02:23``
(French), and before mid-2019 ``2018-09-12 15:02:23``. Month names are matched in the seven
languages below (a name or an abbreviation of at least three letters that only one month
starts with; accents and dots ignored). A date written only in numbers (``03/04/2019``) is
ambiguous one row at a time but not over a whole file: :func:`day_first` decides once per file
from the rows whose first or second number is above 12, else from the header's language.

The digits are the time in UTC (the archive's dates are UTC; each activity file carries its own
time, which wins when there is a file).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

# Month names, January first, in the languages of the header table (strava_csv.HEADERS).
_MONTHS = {
    "en": "january february march april may june july august september october november december",
    "de": "januar februar marz april mai juni juli august september oktober november dezember",
    "fr": "janvier fevrier mars avril mai juin juillet aout septembre octobre novembre decembre",
    "es": "enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre "
    "diciembre",
    "it": "gennaio febbraio marzo aprile maggio giugno luglio agosto settembre ottobre novembre "
    "dicembre",
    "nl": "januari februari maart april mei juni juli augustus september oktober november december",
    "pt": "janeiro fevereiro marco abril maio junho julho agosto setembro outubro novembro "
    "dezembro",
}
_NAMES = [(name, i + 1) for words in _MONTHS.values() for i, name in enumerate(words.split())]
_ABBREVIATIONS = {"mrt": 3, "sept": 9, "jän": 1, "jan": 1}
_TIME = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?(?:\s*([ap])\.?\s*m\.?)?(?![\w])", re.IGNORECASE)
_WORD = re.compile(r"[^\W\d_]+")
_NUMBER = re.compile(r"\d+")


class DateProblem(ValueError):
    """A date that cannot be read; the message quotes it."""


@dataclass(frozen=True)
class DateParts:
    """One date cell taken apart. ``month`` is known when a month name or the ISO form said
    it; otherwise ``first`` and ``second`` are day and month in an order the file decides."""

    year: int
    first: int
    second: int
    month_known: bool
    hour: int
    minute: int
    second_s: int

    def to_datetime(self, day_first: bool) -> datetime:
        """The UTC moment, the two numbers read day first or month first."""
        if self.month_known:
            month, day = self.first, self.second
        elif day_first:
            day, month = self.first, self.second
        else:
            month, day = self.first, self.second
        return datetime(self.year, month, day, self.hour, self.minute, self.second_s, tzinfo=UTC)


def _plain(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def month_of(word: str) -> int | None:
    """The month a name or abbreviation means (``Sep``, ``sept.``, ``März``, ``févr``), or None
    when it means none or several."""
    plain = _plain(word).strip(".")
    if plain in _ABBREVIATIONS:
        return _ABBREVIATIONS[plain]
    if len(plain) < 3:
        return None
    found = {month for name, month in _NAMES if name == plain or name.startswith(plain)}
    return found.pop() if len(found) == 1 else None


def split_date(text: str) -> DateParts:
    """Take one ``Activity Date`` cell apart (see the module docstring); raises
    :class:`DateProblem` naming the text when it holds no date and time."""
    time = _TIME.search(text)
    if time is None:
        raise DateProblem(f"no time of day in the date '{text}'")
    hour, minute, sec = int(time[1]), int(time[2]), int(time[3] or 0)
    if time[4]:  # 12-hour clock
        if not 1 <= hour <= 12:
            raise DateProblem(f"hour {hour} with AM/PM in the date '{text}'")
        hour = hour % 12 + (12 if time[4].lower() == "p" else 0)
    rest = text[: time.start()] + " " + text[time.end() :]
    months = [m for w in _WORD.findall(rest) if (m := month_of(w)) is not None]
    numbers = [n for n in _NUMBER.findall(rest)]
    try:
        if len(months) == 1 and len(numbers) == 2:
            year_text = next(n for n in numbers if len(n) == 4)
            day_text = next(n for n in numbers if n is not year_text)
            parts = (int(year_text), months[0], int(day_text), True)
        elif not months and len(numbers) == 3 and len(numbers[0]) == 4:
            parts = (int(numbers[0]), int(numbers[1]), int(numbers[2]), True)
        elif not months and len(numbers) == 3 and len(numbers[2]) == 4:
            parts = (int(numbers[2]), int(numbers[0]), int(numbers[1]), False)
        else:
            raise StopIteration
    except StopIteration:
        raise DateProblem(f"cannot tell day, month and year in the date '{text}'") from None
    year, first, second, known = parts
    if max(hour, 0) > 23 or minute > 59 or sec > 60:
        raise DateProblem(f"no valid time of day in the date '{text}'")
    return DateParts(year, first, second, known, hour, minute, min(sec, 59))


def day_first(dates: Iterable[DateParts], language_day_first: bool) -> bool:
    """Whether the file's number-only dates put the day first: a first number above 12 says
    so, a second one above 12 says the month is first; with neither, the language decides.
    Raises :class:`DateProblem` when rows of one file say both."""
    says_day = says_month = False
    for parts in dates:
        if parts.month_known:
            continue
        says_day = says_day or parts.first > 12
        says_month = says_month or parts.second > 12
    if says_day and says_month:
        raise DateProblem(
            "the dates of activities.csv mix day-first and month-first forms; "
            "re-download the archive from Strava"
        )
    if says_day or says_month:
        return says_day
    return language_day_first
