"""Server-side sessions: an idle session ends, a long one ends at its maximum age, a read keeps an active one."""

from __future__ import annotations

from services.web.sessions import SessionStore


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_session_ends_after_its_idle_time_and_a_read_slides_it() -> None:
    clock = Clock()
    store = SessionStore(idle_seconds=60, max_seconds=3600, max_sessions=10, clock=clock)
    kept, idle = store.new(), store.new()
    for _ in range(3):
        clock.now += 50
        assert store.get(kept.id) is kept  # read every 50 s: never idle for 60
    assert store.get(idle.id) is None


def test_a_session_ends_at_its_maximum_age_however_active() -> None:
    clock = Clock()
    store = SessionStore(idle_seconds=60, max_seconds=120, max_sessions=10, clock=clock)
    session = store.new()
    clock.now += 59
    assert store.get(session.id) is session
    clock.now += 59
    assert store.get(session.id) is session
    clock.now += 3
    assert store.get(session.id) is None


def test_ids_and_csrf_secrets_are_random_and_unknown_ids_find_nothing() -> None:
    store = SessionStore(60, 120, 10)
    a, b = store.new(), store.new()
    assert a.id != b.id and a.csrf != b.csrf and len(a.id) >= 40
    assert store.get("not-a-session") is None and store.get(None) is None
    store.drop(a.id)
    assert store.get(a.id) is None and len(store) == 1
