"""Who may do what in the registry: one table, read by every endpoint. Anything not listed is 403."""

from __future__ import annotations

from enum import StrEnum

from shared.runtime.auth import Principal, Role
from shared.runtime.errors import Forbidden


class Action(StrEnum):
    REGISTER = "register"
    READ = "read"
    DETERMINE = "determine"
    MOVE = "move"
    MERGE = "merge"
    RECORD_DEATH = "record_death"
    IMPORT = "import"
    READ_AUDIT = "read_audit"
    READ_ATTEMPTS = "read_registration_attempts"  # refused registrations of persons in the area (dedupe.py)
    READ_PENDING = "read_pending_assignments"  # persons of communes split on 2025-07-01, awaiting a decision
    ASSIGN = "assign_after_reorganisation"  # the decision that assigns such a person to a successor commune


_OFFICIALS = {Role.COMMUNE_OFFICER, Role.COMMUNE_POLICE, Role.DISTRICT_OFFICER, Role.PROVINCE_OFFICER}

POLICY: dict[Action, frozenset[Role]] = {
    Action.REGISTER: frozenset(_OFFICIALS | {Role.HEALTH_FACILITY}),
    Action.READ: frozenset(_OFFICIALS | {Role.HEALTH_FACILITY}),
    Action.DETERMINE: frozenset({Role.HEALTH_FACILITY, Role.COMMUNE_OFFICER, Role.DISTRICT_OFFICER}),
    Action.MOVE: frozenset(_OFFICIALS),
    Action.MERGE: frozenset({Role.COMMUNE_OFFICER, Role.DISTRICT_OFFICER, Role.PROVINCE_OFFICER}),
    Action.RECORD_DEATH: frozenset({Role.COMMUNE_OFFICER, Role.COMMUNE_POLICE, Role.DISTRICT_OFFICER}),
    Action.IMPORT: frozenset(_OFFICIALS),
    Action.READ_AUDIT: frozenset({Role.AUDITOR}),
    Action.READ_ATTEMPTS: frozenset({Role.PROVINCE_OFFICER, Role.DISTRICT_OFFICER, Role.AUDITOR}),
    Action.READ_PENDING: frozenset({Role.PROVINCE_OFFICER, Role.COMMUNE_POLICE}),
    Action.ASSIGN: frozenset({Role.PROVINCE_OFFICER, Role.COMMUNE_POLICE}),
}


def authorize(who: Principal, action: Action) -> None:
    """Refuse with 403 unless the caller's role may perform `action`."""
    allowed = POLICY[action]
    if who.role not in allowed:
        names = ", ".join(sorted(r.value for r in allowed))
        raise Forbidden(f"role {who.role.value} may not {action.value.replace('_', ' ')} (allowed: {names})")


ON_A_FILE = (Action.DETERMINE, Action.MOVE, Action.MERGE, Action.RECORD_DEATH)


def allowed_actions(who: Principal) -> list[str]:
    """Every action of the table the caller's role may take (what a client offers, from this one table)."""
    return [a.value for a, roles in POLICY.items() if who.role in roles]


def file_actions(who: Principal, closed: bool) -> list[str]:
    """What the caller may record on an open person's file (nothing on a merged or a dead person's)."""
    return [] if closed else [a for a in allowed_actions(who) if Action(a) in ON_A_FILE]
