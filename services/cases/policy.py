"""Who may do what to a case, by role and modality: one table. Anything not listed is 403."""

from __future__ import annotations

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
