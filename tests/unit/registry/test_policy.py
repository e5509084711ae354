"""What a client is told a role may do is the policy table itself (GET /capabilities, a file's `actions`)."""

from __future__ import annotations

from services.registry.policy import POLICY, Action, allowed_actions, file_actions
from shared.runtime.auth import Principal, Role


def test_each_role_is_offered_exactly_the_actions_the_table_gives_it() -> None:
    for role in Role:
        who = Principal(sub="t", role=role, unit="07615" if role != Role.PROVINCE_OFFICER else "24")
        assert set(allowed_actions(who)) == {a.value for a, roles in POLICY.items() if role in roles}
    police = Principal(sub="t", role=Role.COMMUNE_POLICE, unit="07615")
    assert Action.READ_PENDING.value in allowed_actions(police) and Action.MERGE.value not in allowed_actions(police)
    assert file_actions(police, closed=False) == ["move", "record_death"] and file_actions(police, closed=True) == []
