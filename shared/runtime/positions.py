"""Read your own writes across services: a write answers with its event's position, a later command waits for it.

The registry answers a write with `Rehab-Position: <person_id>:<version>`; a client that goes on to a command in
another service that depends on it (enrolling the person it just registered) sends `Rehab-After` with that value,
and the other service waits, bounded, until its own copy of the person has caught up before it decides.
"""

from __future__ import annotations

import re
from uuid import UUID

from fastapi import Response

POSITION_HEADER = "Rehab-Position"
AFTER_HEADER = "Rehab-After"
_ONE = re.compile(r"^\s*([0-9a-fA-F-]{36}):([0-9]{1,9})\s*$")
MAX_POSITIONS = 8


def position(stream_id: str, version: int) -> str:
    """The header value naming one stream's version."""
    return f"{stream_id}:{version}"


def answer_with_position(response: Response, stream_id: str, version: int) -> None:
    """Put the position of the event a write just recorded on its answer."""
    response.headers[POSITION_HEADER] = position(stream_id, version)


def parse_after(value: str | None) -> list[tuple[str, int]]:
    """The (stream id, version) pairs of a `Rehab-After` header; malformed parts are ignored (it only ever waits)."""
    if not value:
        return []
    found: list[tuple[str, int]] = []
    for part in value.split(",")[:MAX_POSITIONS]:
        m = _ONE.match(part)
        if m is None:
            continue
        try:
            found.append((str(UUID(m.group(1))), int(m.group(2))))
        except ValueError:
            continue
    return found
