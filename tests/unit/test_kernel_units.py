"""Fast tests of the kernel's pure parts: ids, event registry, units, tokens."""

from __future__ import annotations

import time
from datetime import date, timedelta

import jwt
import pytest

from shared.kernel.events import CommandContext, Envelope, Event, EventRegistry, PendingEvent, UnknownEventError, seal
from shared.kernel.ids import uuid7
from shared.runtime.auth import Role, TokenCodec
from shared.runtime.errors import Unauthorized
from shared.vn.units import admin_units, fold


class ThingHappened(Event):
    event_type = "thing_happened"
    schema_version = 2
    name: str
    count: int


def test_uuid7_is_version_7_and_time_ordered() -> None:
    ids = [uuid7() for _ in range(50)]
    assert all(i.version == 7 for i in ids)
    first, later = ids[0], (time.sleep(0.002), uuid7())[1]
    assert later > first


def test_registry_upcasts_old_payloads_and_refuses_future_versions() -> None:
    reg = EventRegistry()
    reg.register(ThingHappened)

    @reg.upcaster("thing_happened", 1)
    def v1_to_v2(payload: dict[str, object]) -> dict[str, object]:
        return {**payload, "count": 1}

    env = seal(
        PendingEvent(event=ThingHappened(name="a", count=3), occurred_on=date(2024, 1, 2), unit_code="07616"),
        "s-1",
        1,
        CommandContext(),
    )
    old = env.model_copy(update={"schema_version": 1, "payload": {"name": "a"}})
    assert reg.decode(old) == ThingHappened(name="a", count=1)
    assert reg.decode(Envelope.from_json(env.to_json())) == ThingHappened(name="a", count=3)
    with pytest.raises(UnknownEventError, match="newer"):
        reg.decode(env.model_copy(update={"schema_version": 3}))
    with pytest.raises(UnknownEventError, match="unknown event type"):
        reg.decode(env.model_copy(update={"event_type": "nope"}))


def test_envelope_carries_legal_date_and_recording_time() -> None:
    env = seal(
        PendingEvent(event=ThingHappened(name="a", count=1), occurred_on=date(2023, 5, 1), unit_code="10852"),
        "s-1",
        4,
        CommandContext(),
    )
    assert env.occurred_on == date(2023, 5, 1) and env.recorded_at.tzinfo is not None
    assert env.stream_version == 4 and env.event_type == "thing_happened" and env.schema_version == 2


def test_units_hierarchy_both_editions() -> None:
    units = admin_units()
    assert (units.count("2024", "province"), units.count("2024", "district"), units.count("2024", "commune")) == (
        63,
        705,
        10595,
    )
    assert (units.count("2025", "province"), units.count("2025", "commune")) == (34, 3321)
    assert units.is_within("07616", "220", date(2024, 6, 1))  # Tây Yên Tử in Sơn Động
    assert units.is_within("07616", "24", date(2024, 6, 1))  # ... in Bắc Giang
    assert not units.is_within("07616", "221", date(2024, 6, 1))
    assert units.is_within("220", "VN")
    assert units.is_within("10852", "294", date(2023, 1, 1))  # Thanh Xá in Thanh Hà
    new = units.get("00004", edition="2025")
    assert new.level == "commune" and units.is_within("00004", "01", date(2025, 8, 1))
    assert not units.exists("220", date(2025, 8, 1))  # districts are gone after the reform


def test_fold_handles_vietnamese() -> None:
    assert fold("Xã Đại Sơn") == "xa dai son"
    assert fold("  Thị trấn  Tây Yên Tử ") == "thi tran tay yen tu"


def test_tokens_refuse_expired_unsigned_and_wrongly_signed() -> None:
    codec = TokenCodec("s" * 32)
    good = codec.issue("u1", "district_officer", "220")
    assert codec.verify(good).role is Role.DISTRICT_OFFICER
    expired = codec.issue("u1", "district_officer", "220", ttl=timedelta(minutes=-2))  # past the leeway
    with pytest.raises(Unauthorized, match="expired"):
        codec.verify(expired)
    with pytest.raises(Unauthorized):
        TokenCodec("x" * 32).verify(good)
    unsigned = jwt.encode({"sub": "u", "role": "admin", "unit": "VN", "exp": time.time() + 60}, None, algorithm="none")
    with pytest.raises(Unauthorized):
        codec.verify(unsigned)
    with pytest.raises(Unauthorized):
        codec.verify(jwt.encode({"sub": "u", "role": "king", "unit": "VN", "exp": time.time() + 60}, "s" * 32))


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"sub": "u", "exp": 253402300799}, "iat"),  # exp in year 9999, no iat
        ({"sub": "u", "iat": 0, "exp": 253402300799}, "longer than"),  # issued long ago, valid for ever
        ({"sub": "u", "iat": "now", "exp": 253402300799}, "longer than"),
        ({"sub": "", "iat": "now", "exp": "+1h"}, "sub"),
        ({"sub": "   ", "iat": "now", "exp": "+1h"}, "sub"),
        ({"iat": "now", "exp": "+1h"}, "sub"),
        ({"sub": "u", "iat": "now", "exp": "+13h"}, "longer than"),
        ({"sub": "u", "iat": "now", "exp": "+1h", "unit": "=1+2"}, "unit"),
    ],
)
def test_tokens_need_a_subject_an_issue_time_and_a_bounded_lifetime(claims: dict[str, object], reason: str) -> None:
    now = int(time.time())
    times = {"now": now, "+1h": now + 3600, "+13h": now + 13 * 3600}
    body = {
        "role": "commune_officer",
        "unit": "07616",
        **{k: times.get(v, v) if isinstance(v, str) else v for k, v in claims.items()},
    }
    if claims.get("sub") is not None:
        body["sub"] = claims["sub"]
    with pytest.raises(Unauthorized, match=reason):
        TokenCodec("s" * 32).verify(jwt.encode(body, "s" * 32))


def test_a_token_within_the_lifetime_is_accepted_and_a_longer_one_cannot_be_issued() -> None:
    codec = TokenCodec("s" * 32)
    assert codec.verify(codec.issue("u1", "commune_officer", "07616", timedelta(hours=12))).unit == "07616"
    with pytest.raises(ValueError, match="at most"):
        codec.issue("u1", "commune_officer", "07616", timedelta(hours=13))


def test_a_connection_broken_under_a_raw_statement_is_transient_and_a_bad_value_is_not() -> None:
    """The hot path runs on asyncpg directly: its connection errors must answer 503 (retry), not 500."""
    import asyncpg

    from shared.kernel.db import is_transient

    assert is_transient(asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed"))
    assert is_transient(asyncpg.exceptions._base.InternalClientError("cannot switch to state 12"))
    assert not is_transient(asyncpg.exceptions.NumericValueOutOfRangeError("out of range"))
    assert not is_transient(ValueError("bad"))
