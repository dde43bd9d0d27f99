"""Danish public holidays (helligdage), computed: the default calendar of the appliance.

The `holidays` library knows every country, and loading it costs 17 MB of a Raspberry
Pi Zero's 512 MB (460 modules for Denmark alone). Denmark's rules fit in a few lines;
tests/test_hours.py checks them against the library year by year.
"""

from __future__ import annotations

from datetime import date, timedelta


def easter_sunday(year: int) -> date:
    """The Gregorian Easter Sunday (the anonymous Gregorian algorithm, Meeus/Jones/Butcher)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    g = (8 * b + 13) // 25
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    weekday = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 19 * weekday) // 433
    month, day = divmod(h + weekday - 7 * m + 114, 31)
    return date(year, month, day + 1)


def danish_holidays(year: int) -> dict[date, str]:
    easter = easter_sunday(year)
    moving = {
        -3: "Skærtorsdag",
        -2: "Langfredag",
        0: "Påskedag",
        1: "Anden påskedag",
        39: "Kristi himmelfartsdag",
        49: "Pinsedag",
        50: "Anden pinsedag",
    }
    if year <= 2023:  # abolished from 2024
        moving[26] = "Store bededag"
    days = {easter + timedelta(days=offset): name for offset, name in moving.items()}
    days |= {
        date(year, 1, 1): "Nytårsdag",
        date(year, 12, 25): "Juledag",
        date(year, 12, 26): "Anden juledag",
    }
    return days
