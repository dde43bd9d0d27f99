"""The municipalities of the hotline: their three-digit codes (the contract's
`municipality`), names, and which one each centre (site) belongs to."""

from __future__ import annotations

import csv
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass

from appliance.core.contract import UNKNOWN_MUNICIPALITY


@dataclass(frozen=True, slots=True)
class Municipality:
    code: str
    name: str
    population: int


def parse_municipalities(text: str) -> tuple[Municipality, ...]:
    """The shipped list (`appliance/data/region-midtjylland.csv`): code, name, population."""
    return tuple(
        Municipality(row["code"], row["municipality"], int(row["population_approx"]))
        for row in csv.DictReader(text.splitlines())
    )


def site_id(name: str, o_slash: str = "o") -> str:
    """A municipality's name as a site id is spelled: "Ringkøbing-Skjern" → "ringkobing-skjern"
    (or with `o_slash="oe"`, "ringkoebing-skjern")."""
    folded = name.lower().replace("æ", "ae").replace("ø", o_slash).replace("å", "aa")
    ascii_only = unicodedata.normalize("NFKD", folded).encode("ascii", "ignore").decode()
    return "".join(c if c.isalnum() or c == "-" else "-" for c in ascii_only).strip("-")


def site_municipalities(
    municipalities: tuple[Municipality, ...], given: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Site id → municipality code: the site named after its municipality ("favrskov" →
    710, "samso" and "samsoe" → 741), and what `given` says (a centre with another name)."""
    found: dict[str, str] = {}
    for municipality in municipalities:
        for o_slash in ("o", "oe"):
            found[site_id(municipality.name, o_slash)] = municipality.code
    return found | dict(given or {})


def municipality_of_site(site: str, sites: Mapping[str, str]) -> str:
    return sites.get(site, UNKNOWN_MUNICIPALITY)
