"""Envelopes made by hand, for tests that fold events without a service to record them."""

from __future__ import annotations

from datetime import UTC, datetime

from shared.kernel.events import Envelope


def envelope(
    kind: str,
    stream: str,
    version: int,
    on: str,
    payload: dict[str, object],
    unit: str = "07616",
    schema_version: int = 1,
) -> Envelope:
    """Event `kind` of `stream` at `version`, dated `on`, recorded now under `unit`."""
    return Envelope.model_validate(
        {
            "event_id": f"0190b5a0-0000-7000-8000-{version:012d}",
            "event_type": kind,
            "schema_version": schema_version,
            "stream_id": stream,
            "stream_version": version,
            "occurred_on": on,
            "recorded_at": datetime.now(UTC),
            "actor": {"sub": "s", "role": "r", "unit": "u"},
            "unit_code": unit,
            "correlation_id": "c",
            "payload": payload,
        }
    )
