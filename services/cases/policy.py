"""Who may do what to a case, by role and modality: one table. Anything not listed is 403."""

from __future__ import annotations

from services.cases.domain.case import ALLOWED
from shared.runtime.auth import Principal, Role
from shared.runtime.errors import Forbidden

ANY = frozenset({"voluntary_community", "voluntary_facility", "compulsory", "methadone"})
FACILITY = frozenset({"methadone", "voluntary_facility"})
_OFFICERS = {Role.COMMUNE_OFFICER: ANY, Role.DISTRICT_OFFICER: ANY, Role.PROVINCE_OFFICER: ANY}

POLICY: dict[str, dict[Role, frozenset[str]]] = {
    "read": {**_OFFICERS, Role.COMMUNE_POLICE: ANY, Role.HEALTH_FACILITY: ANY},
    "enroll": {**_OFFICERS, Role.HEALTH_FACILITY: FACILITY},
    "complete": {**_OFFICERS, Role.HEALTH_FACILITY: FACILITY},
    "abscond": {**_OFFICERS, Role.COMMUNE_POLICE: ANY},
    "return": {**_OFFICERS, Role.COMMUNE_POLICE: ANY},
    "drop_out": {**_OFFICERS, Role.HEALTH_FACILITY: FACILITY},
    "terminate": {**_OFFICERS, Role.HEALTH_FACILITY: FACILITY},
    "start_post_rehab": {Role.COMMUNE_OFFICER: ANY, Role.DISTRICT_OFFICER: ANY},
    "end_post_rehab": {Role.COMMUNE_OFFICER: ANY, Role.DISTRICT_OFFICER: ANY},
    "relapse": {**_OFFICERS, Role.COMMUNE_POLICE: ANY, Role.HEALTH_FACILITY: ANY},
    # the duties of issue 16 item 7: tests by the police or the testing facility; a positive one's decision as a
    # relapse's; the move notice by the sending commune police (Law 73 Art. 43(2)), the person's report taken by
    # the receiving commune; electronic monitoring by the commune police chief (Law 120/2025 Art. 12, unverified)
    "drug_test": {**_OFFICERS, Role.COMMUNE_POLICE: ANY, Role.HEALTH_FACILITY: ANY},
    "rule_out_relapse": {**_OFFICERS, Role.COMMUNE_POLICE: ANY},
    "move_notice": {Role.COMMUNE_POLICE: ANY},
    "move_report": {Role.COMMUNE_POLICE: ANY, Role.COMMUNE_OFFICER: ANY},
    "order_monitoring": {Role.COMMUNE_POLICE: ANY},
    "end_monitoring": {Role.COMMUNE_POLICE: ANY},
}


def authorize(who: Principal, action: str, modality: str | None = None) -> None:
    """Refuse with 403 unless the caller's role may perform `action` (on a case of `modality`)."""
    allowed = POLICY[action].get(who.role)
    if allowed is None:
        roles = ", ".join(sorted(r.value for r in POLICY[action]))
        raise Forbidden(f"role {who.role.value} may not {action.replace('_', ' ')} (allowed: {roles})")
    if modality is not None and modality not in allowed:
        raise Forbidden(f"role {who.role.value} may {action.replace('_', ' ')} only for {', '.join(sorted(allowed))}")


def may(who: Principal, action: str, modality: str) -> bool:
    """Whether the caller's role may perform `action` on a case of `modality` (the table above)."""
    return modality in POLICY[action].get(who.role, frozenset())


def case_actions(who: Principal, modality: str, state: str, moves_owed: tuple[bool, bool]) -> list[str]:
    """The steps the caller may record on a case now: its state allows them and the table gives them to the role.

    `moves_owed` says whether a move's notice and a move's report are still owed (they do not depend on the state).
    """
    steps = [a for a, states in ALLOWED.items() if state in states and may(who, a, modality)]
    owed = [a for a, due in zip(("move_notice", "move_report"), moves_owed, strict=True) if due]
    return steps + [a for a in owed if may(who, a, modality)]


def enrolment_modalities(who: Principal) -> list[str]:
    """The modalities the caller may enrol a person in (none when the role may not enrol)."""
    return sorted(POLICY["enroll"].get(who.role, frozenset()))
