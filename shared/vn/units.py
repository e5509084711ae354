"""Vietnam's administrative units (GSO codes) in two editions: 3-level (to 2025-06-30) and 2-level (from 2025-07-01).

Codes: province 2 digits, district 3, commune 5. The 2025 reorganisation abolished districts and renumbered
communes, and reuses some codes with another meaning, so every question names the date it is asked for.
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Literal

DATA_DIR = Path(__file__).parent / "data"
REFORM_DATE = date(2025, 7, 1)
_BEFORE = date(2025, 6, 30)  # a day the 2024 edition was in force
NATIONAL = "VN"
Edition = Literal["2024", "2025"]
Level = Literal["country", "province", "district", "commune"]


@dataclass(frozen=True)
class Unit:
    code: str
    name: str
    level: Level
    parent: str | None
    edition: Edition


class UnknownUnitError(KeyError):
    """A code that names no unit in the edition asked for."""


def edition_for(on: date) -> Edition:
    return "2025" if on >= REFORM_DATE else "2024"


def fold(text: str) -> str:
    """Lower-case, diacritics removed (đ → d), spaces collapsed: for matching Vietnamese names.

    The blind indexes of the registry are keyed on it, so its output for a given text never changes; the
    per-character table (`_Stripped`) gives the same result as decomposing and stripping the whole text, in C.
    """
    try:
        stripped = text.translate(_STRIPPED)
    except _Reordered:
        stripped = _strip_marks(text)
    return " ".join(stripped.lower().split())


def _strip_marks(text: str) -> str:
    """The text decomposed (NFD), without its nonspacing marks (Mn), đ read as d."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(c for c in decomposed if unicodedata.category(c) != "Mn")


class _Reordered(Exception):
    """A character whose decomposition keeps a combining mark that canonical ordering may move."""


class _Stripped(dict[int, str]):
    """Each character as `_strip_marks` turns it, computed on first sight (a list uses a few hundred at most).

    NFD decomposes each character on its own, then reorders runs of combining marks; the marks it drops (Mn) may
    move freely, so a character gives the same result alone as inside a text, except one whose decomposition keeps
    a combining mark of another kind: for those `fold` strips the whole text instead.
    """

    LIMIT = 65_536  # characters remembered: a text of every code point must not grow the table without end

    def __missing__(self, code: int) -> str:
        decomposed = unicodedata.normalize("NFD", chr(code))
        if any(unicodedata.combining(c) and unicodedata.category(c) != "Mn" for c in decomposed):
            raise _Reordered
        stripped = _strip_marks(chr(code))
        if len(self) < self.LIMIT:
            self[code] = stripped
        return stripped


_STRIPPED = _Stripped()


class AdminUnits:
    """Lookups over both editions: unit by code, ancestry, 'is X inside Y', successors after 2025."""

    def __init__(self, units: dict[Edition, dict[str, Unit]], old_to_new: dict[str, list[str]]) -> None:
        self._units = units
        self._old_to_new = old_to_new
        self._children: dict[tuple[Edition, str], list[Unit]] = {}
        for ed, table in units.items():
            for unit in table.values():
                if unit.parent is not None:
                    self._children.setdefault((ed, unit.parent), []).append(unit)
        self._split_into: dict[str, frozenset[str]] = {}

    def get(self, code: str, on: date | None = None, edition: Edition | None = None) -> Unit:
        ed = edition or (edition_for(on) if on else "2024")
        try:
            return self._units[ed][code]
        except KeyError:
            raise UnknownUnitError(f"unknown administrative unit {code!r} in the {ed} catalogue") from None

    def exists(self, code: str, on: date | None = None) -> bool:
        editions: list[Edition] = [edition_for(on)] if on else ["2024", "2025"]
        return any(code in self._units[ed] for ed in editions)

    def ancestors(self, code: str, edition: Edition) -> list[str]:
        """The unit itself, then its parent, up to the country."""
        chain: list[str] = []
        current: str | None = code
        while current is not None:
            chain.append(current)
            current = self._units[edition][current].parent
        return chain

    def is_within(self, inner: str, outer: str, on: date | None = None) -> bool:
        """True when `inner` is `outer` or lies below it, in the edition valid on `on` (either when None)."""
        if inner == outer or outer == NATIONAL:
            return True
        editions: list[Edition] = [edition_for(on)] if on else ["2024", "2025"]
        return any(
            inner in self._units[ed] and outer in self._units[ed] and outer in self.ancestors(inner, ed)
            for ed in editions
        )

    def children(self, code: str, edition: Edition = "2024") -> list[Unit]:
        return list(self._children.get((edition, code), []))

    def successors(self, old_commune: str) -> list[str]:
        """New (2025) communes an old commune's area went to; more than one means a partial merge."""
        return list(self._old_to_new.get(old_commune, []))

    # --- units in time: what a record's unit is today -------------------------------------------------------

    def is_current(self, code: str) -> bool:
        """True for a unit of today's (2025) catalogue; False for one the reorganisation abolished."""
        return code == NATIONAL or code in self._units["2025"]

    def unit_now(self, code: str, recorded_on: date) -> str:
        """The unit of today responsible for a record whose unit was `code` on `recorded_on`.

        A code recorded from 2025-07-01 is today's. An old commune merged whole maps to its successor; a split
        one (several successors) maps to the province of its successors, whose officers assign each person to a
        commune by a recorded decision: the mapping never guesses. An old district or province maps to the
        province that took it over.
        """
        if code == NATIONAL or edition_for(recorded_on) == "2025":
            return code
        unit = self.get(code, edition="2024")
        if unit.level == "commune":
            successors = self.successors(code)
            if len(successors) == 1:
                return successors[0]
            if not successors and unit.parent is not None:  # missing from the mapping data: its district's province
                return self.province_now(unit.parent)
        return self.province_now(code)

    def unit_now_or_code(self, code: str, recorded_on: date) -> str:
        """`unit_now`, or the code itself when the catalogue cannot place it (a read model never fails on one).

        A code missing from the edition of its date but present in the other is read in the other: a case opened
        after the reform under a person's old commune is read as that old commune (which maps forward).
        """
        recorded_on = self.edition_date(code, recorded_on)
        try:
            return self.unit_now(code, recorded_on)
        except UnknownUnitError:
            return code

    def edition_date(self, code: str, recorded_on: date) -> date:
        """`recorded_on`, or a day of the other edition when only that one has `code`."""
        if code == NATIONAL or code in self._units[edition_for(recorded_on)]:
            return recorded_on
        if edition_for(recorded_on) == "2025" and code in self._units["2024"]:
            return _BEFORE
        if edition_for(recorded_on) == "2024" and code in self._units["2025"]:
            return REFORM_DATE
        return recorded_on

    def code_on(self, code: str, recorded_on: date, on: date) -> str:
        """The code to record on `on` for a unit recorded as `code` on `recorded_on`: today's unit (`unit_now`)
        when `on` is after the reform and the code is of the old edition; the code itself otherwise."""
        if edition_for(on) == "2025" and edition_for(self.edition_date(code, recorded_on)) == "2024":
            return self.unit_now_or_code(code, recorded_on)
        return code

    def split_predecessors(self, new_commune: str) -> frozenset[str]:
        """Old communes that were split and have `new_commune` among their candidate successors."""
        if not self._split_into:
            found: dict[str, set[str]] = {}
            for old, news in self._old_to_new.items():
                if len(news) > 1:
                    for new in news:
                        found.setdefault(new, set()).add(old)
            self._split_into.update({new: frozenset(olds) for new, olds in found.items()})
        return self._split_into.get(new_commune, frozenset())

    def codes_now_within(self, code: str) -> frozenset[str] | None:
        """Every code, in either edition, whose records are today in `code`'s subtree (None: the whole country).

        For reads whose rows carry a unit code but not the date it was recorded (the audit trail): today's units
        below `code`, and the old units that map forward into them.
        """
        now = self.subtree_now(code)
        if now is None:
            return None
        old = {c for c in self._units["2024"] if c != NATIONAL and self.unit_now_or_code(c, _BEFORE) in now}
        return frozenset(now | old)

    def province_now(self, old_code: str) -> str:
        """Today's province holding (most of) an old unit's area: the province of its communes' successors."""
        old = self.get(old_code, edition="2024")
        communes = [old] if old.level == "commune" else self._communes_under(old_code)
        provinces: dict[str, int] = {}
        for commune in communes:
            for new in self.successors(commune.code):
                province = self._units["2025"][new].parent
                if province is not None:
                    provinces[province] = provinces.get(province, 0) + 1
        if not provinces and old.parent not in (None, NATIONAL):  # a district without communes (an island)
            return self.province_now(old.parent)
        if not provinces:
            raise UnknownUnitError(f"no successor of {old_code!r} in the 2025 catalogue")
        return max(sorted(provinces), key=lambda p: provinces[p])

    def successor_units(self, old_code: str) -> list[Unit]:
        """Today's units that took over an abolished unit's area: its communes' successors (or itself if current)."""
        if self.is_current(old_code):
            return [self.get(old_code, edition="2025")]
        old = self.get(old_code, edition="2024")
        communes = [old] if old.level == "commune" else self._communes_under(old_code)
        codes = sorted({new for c in communes for new in self.successors(c.code)})
        return [self._units["2025"][c] for c in codes]

    def split(self, old_commune: str) -> bool:
        """True for an old commune whose area went to several new communes (a person there needs a decision)."""
        return len(self.successors(old_commune)) > 1

    def _communes_under(self, code: str) -> list[Unit]:
        found, frontier = [], [code]
        while frontier:
            for child in self._children.get(("2024", frontier.pop()), []):
                (found.append(child) if child.level == "commune" else frontier.append(child.code))
        return found

    def within_now(self, inner_now: str, account_unit: str) -> bool:
        """True when today's unit `inner_now` lies in a current account unit's subtree (today's catalogue)."""
        if account_unit == NATIONAL or inner_now == account_unit:
            return True
        return inner_now in self._units["2025"] and account_unit in self.ancestors(inner_now, "2025")

    def subtree_now(self, code: str) -> frozenset[str] | None:
        """`code` and today's units below it (None for the whole country): what `unit_now` values an account sees."""
        return self._subtree(code, "2025")

    def subtree_then(self, code: str) -> frozenset[str] | None:
        """`code` and the units below it in the 2024 catalogue (None for the whole country)."""
        return self._subtree(code, "2024")

    def _subtree(self, code: str, edition: Edition) -> frozenset[str] | None:
        if code == NATIONAL:
            return None
        found: set[str] = set()
        frontier = [code] if code in self._units[edition] else []
        while frontier:
            unit = self._units[edition][frontier.pop()]
            found.add(unit.code)
            frontier.extend(u.code for u in self._children.get((edition, unit.code), []))
        return frozenset(found)

    def count(self, edition: Edition, level: Level) -> int:
        return sum(1 for u in self._units[edition].values() if u.level == level)


@cache
def admin_units(data_dir: Path = DATA_DIR) -> AdminUnits:
    """The real GSO catalogue shipped with the project (loaded once per process)."""
    old = json.loads((data_dir / "admin-units-vn-2024-05-01.json").read_text(encoding="utf-8"))
    reform = json.loads((data_dir / "admin-units-vn-2025-07-01-mapping.json").read_text(encoding="utf-8"))
    units: dict[Edition, dict[str, Unit]] = {"2024": {}, "2025": {}}
    for ed in ("2024", "2025"):
        units[ed][NATIONAL] = Unit(NATIONAL, "Việt Nam", "country", None, ed)
    for p in old["data"]:
        units["2024"][p["level1_id"]] = Unit(p["level1_id"], p["name"], "province", NATIONAL, "2024")
        for d in p.get("level2s", []):
            units["2024"][d["level2_id"]] = Unit(d["level2_id"], d["name"], "district", p["level1_id"], "2024")
            for c in d.get("level3s", []):
                units["2024"][c["level3_id"]] = Unit(c["level3_id"], c["name"], "commune", d["level2_id"], "2024")
    for p in reform["new_to_old"]:
        units["2025"][p["level1_id"]] = Unit(p["level1_id"], p["name"], "province", NATIONAL, "2025")
        for c in p.get("level2s", []):
            units["2025"][c["level2_id"]] = Unit(c["level2_id"], c["name"], "commune", p["level1_id"], "2025")
    old_to_new: dict[str, list[str]] = {}
    for p in reform["old_to_new"]:
        for c in p.get("level3s", []):
            old_to_new[c["level3_id"]] = [s["new_id"] for s in c.get("splits", [])]
    return AdminUnits(units, old_to_new)
