"""The fault table, printed at the end of the run whatever the output capture."""

from __future__ import annotations

import pytest

from tests.reliability.checks import Outcome

RESULTS: list[Outcome] = []
FUZZED: dict[str, int] = {}  # service -> requests schemathesis generated (any 5xx fails the test)
HEADINGS = ("fault", "commands acknowledged", "events in store", "events applied by reporting", "lost", "duplicated")


def table(rows: list[Outcome]) -> list[str]:
    cells = [HEADINGS] + [
        (r.fault, str(r.acknowledged), str(r.in_store), str(r.applied), str(r.lost), str(r.duplicated)) for r in rows
    ]
    widths = [max(len(row[i]) for row in cells) for i in range(len(HEADINGS))]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |" for row in cells]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return lines


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if FUZZED:
        terminalreporter.section("schemathesis: generated requests per service, none answered with a 5xx")
        terminalreporter.write_line(
            ", ".join(f"{k} {v}" for k, v in FUZZED.items()) + f"; {sum(FUZZED.values())} in all"
        )
    if not RESULTS:
        return
    terminalreporter.section("faults injected: every acknowledged command counted once")
    for line in table(RESULTS):
        terminalreporter.write_line(line)
    for r in RESULTS:
        extra = [f"records on the topics {r.published}", f"HTTP answers {r.answers}", *r.notes, *r.mismatches]
        terminalreporter.write_line(f"{r.fault}: " + "; ".join(extra))
