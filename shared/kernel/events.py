"""Event envelope, base event model and the registry that maps (event_type, schema_version) to classes.

Events are facts: frozen, past tense, with a stable string `event_type` and an integer `schema_version`.
A breaking change gets a new version plus an upcaster from the previous one; old events are never rewritten.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any, ClassVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from shared.kernel.ids import uuid7

JsonDict = dict[str, Any]
Upcaster = Callable[[JsonDict], JsonDict]


class Event(BaseModel):
    """Base class of every domain event's payload."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_type: ClassVar[str]
    schema_version: ClassVar[int] = 1


class Actor(BaseModel):
    """Who caused an event: the token subject, its role and its administrative unit."""

    model_config = ConfigDict(frozen=True)

    sub: str
    role: str
    unit: str


SYSTEM_ACTOR = Actor(sub="system", role="system", unit="VN")


class Envelope(BaseModel):
    """An event as stored and as published on Kafka."""

    model_config = ConfigDict(frozen=True)

    event_id: UUID
    event_type: str
    schema_version: int
    stream_id: str
    stream_version: int = Field(ge=1)
    occurred_on: date
    recorded_at: datetime
    actor: Actor
    unit_code: str
    correlation_id: str
    causation_id: str | None = None
    payload: JsonDict

    def to_json(self) -> bytes:
        return self.model_dump_json().encode()

    @classmethod
    def from_json(cls, raw: bytes | str) -> Envelope:
        return cls.model_validate_json(raw)


class HistoryEntry(BaseModel):
    """One event of a stream as a file's timeline shows it: what happened, on which legal date, recorded when, by whom.

    Payloads carry no personal data (names and citizen ids stay sealed in the registry), so they are shown as they
    are; free text lives in the notes tables, never here.
    """

    event_type: str
    schema_version: int
    stream_version: int
    occurred_on: date
    recorded_at: datetime
    actor: Actor
    unit_code: str
    payload: JsonDict

    @classmethod
    def of(cls, env: Envelope) -> HistoryEntry:
        return cls.model_validate(env.model_dump(include=set(cls.model_fields)))


class PendingEvent(BaseModel):
    """An event an aggregate decided on, not yet given its place in a stream.

    `notes` holds the event's free text (a mentor's name, a reason): stored beside the event in the service's own
    database and never published (shared/kernel/notes.py).
    """

    model_config = ConfigDict(frozen=True)

    event: Event
    occurred_on: date
    unit_code: str
    notes: dict[str, str] = Field(default_factory=dict)


class CommandContext(BaseModel):
    """Who is acting and under which correlation id; stamped on every event a command produces."""

    model_config = ConfigDict(frozen=True)

    actor: Actor = SYSTEM_ACTOR
    correlation_id: str = Field(default_factory=lambda: str(uuid7()))
    causation_id: str | None = None


def seal(pending: PendingEvent, stream_id: str, stream_version: int, ctx: CommandContext) -> Envelope:
    """Give a pending event its id, stream position and recording time."""
    return Envelope(
        event_id=uuid7(),
        event_type=type(pending.event).event_type,
        schema_version=type(pending.event).schema_version,
        stream_id=stream_id,
        stream_version=stream_version,
        occurred_on=pending.occurred_on,
        recorded_at=datetime.now(UTC),
        actor=ctx.actor,
        unit_code=pending.unit_code,
        correlation_id=ctx.correlation_id,
        causation_id=ctx.causation_id,
        payload=pending.event.model_dump(mode="json"),
    )


class UnknownEventError(ValueError):
    """An event type or schema version this code cannot read (a poison message for consumers)."""


class EventRegistry:
    """Maps event types to their current classes, and upcasts payloads written by older versions."""

    def __init__(self) -> None:
        self._classes: dict[str, type[Event]] = {}
        self._upcasters: dict[tuple[str, int], Upcaster] = {}

    def register(self, cls: type[Event]) -> type[Event]:
        """Register the current version of an event class (usable as a decorator)."""
        existing = self._classes.get(cls.event_type)
        if existing is not None and existing is not cls:
            raise ValueError(f"event type {cls.event_type!r} registered twice")
        self._classes[cls.event_type] = cls
        return cls

    def upcaster(self, event_type: str, from_version: int) -> Callable[[Upcaster], Upcaster]:
        """Register a function turning a `from_version` payload into a `from_version + 1` payload."""

        def decorate(fn: Upcaster) -> Upcaster:
            self._upcasters[(event_type, from_version)] = fn
            return fn

        return decorate

    def decode(self, envelope: Envelope) -> Event:
        """The typed event inside an envelope, upcast to the current schema version."""
        cls = self._classes.get(envelope.event_type)
        if cls is None:
            raise UnknownEventError(f"unknown event type {envelope.event_type!r}")
        version, payload = envelope.schema_version, dict(envelope.payload)
        if version > cls.schema_version:
            raise UnknownEventError(
                f"{envelope.event_type} schema_version {version} is newer than this code knows ({cls.schema_version})"
            )
        while version < cls.schema_version:
            step = self._upcasters.get((envelope.event_type, version))
            if step is None:
                raise UnknownEventError(f"no upcaster for {envelope.event_type} v{version}")
            payload, version = step(payload), version + 1
        return cls.model_validate(payload)

    def knows(self, event_type: str) -> bool:
        return event_type in self._classes

    def classes(self) -> list[type[Event]]:
        return list(self._classes.values())
