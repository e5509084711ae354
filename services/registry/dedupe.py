"""Dedupe on the citizen id without disclosure: who is on record inside your area you see; outside it you do not.

A known citizen id inside the caller's area answers 409 with the existing person, so the officer opens that file
instead of creating a second. Outside it, the answer only says that the person is on record elsewhere and how to
ask for a transfer: no person id, no commune. The attempt is entered in the trail under the existing record's
commune, so the auditors of that area and its province officers (GET /registration-attempts) see it.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy.ext.asyncio import AsyncEngine

from services.registry.settings import RegistrySettings
from shared.runtime.audit import AuditNote
from shared.runtime.auth import Principal, sees
from shared.runtime.errors import Conflict
from shared.runtime.ratelimit import AccountLimit
from shared.vn.units import AdminUnits

# who a citizen id is on record for, the commune they are managed in now and the date it was recorded
Holder = tuple[str, str | None, date | None]
ELSEWHERE = "register_refused_elsewhere"  # the audit action the province officers' read lists
_ELSEWHERE_EN = (
    "a person with this citizen id is already on record outside your area, so nothing was created; to manage them "
    "here, ask your district or province office to request a transfer from the unit that manages them, which "
    "records the change of residence. This attempt has been recorded for the auditors"
)
_ELSEWHERE_VI = (
    "người có số CCCD này đã có hồ sơ quản lý ở địa bàn khác nên không tạo hồ sơ mới; để quản lý tại địa phương, "
    "hãy đề nghị cấp huyện hoặc cấp tỉnh yêu cầu đơn vị đang quản lý làm thủ tục chuyển nơi cư trú. "
    "Lần đăng ký này đã được ghi lại để thanh tra"
)


_LOOKUPS_EXCEEDED = (
    "this account has made too many lookups by citizen id; try again in {retry_after} s "
    "(tài khoản này đã tra cứu theo số CCCD quá nhiều lần; hãy thử lại sau {retry_after} giây)"
)


def identity_lookups(engine: AsyncEngine, service: str, settings: RegistrySettings) -> AccountLimit:
    """Citizen-id registrations and searches per account, counted in PostgreSQL so every replica shares them."""
    per_minute, per_day = settings.identity_lookups_per_minute, settings.identity_lookups_per_day
    return AccountLimit(engine, service, "identity_lookups", per_minute, per_day, _LOOKUPS_EXCEEDED)


class OnRecordElsewhere(Conflict):
    """409 without the person: the citizen id is on record in a commune outside the caller's area."""

    code = "on_record_elsewhere"

    def __init__(self, existing_id: str, commune_code: str | None, attempted_commune: str) -> None:
        fields = {"citizen_id": "on record in another area (đã có hồ sơ ở địa bàn khác)"}
        super().__init__(f"{_ELSEWHERE_EN} ({_ELSEWHERE_VI})", fields, message_vi=_ELSEWHERE_VI)
        self.audit_note = AuditNote(ELSEWHERE, existing_id, commune_code, {"attempted_commune": attempted_commune})


class KnownCitizen(Conflict):
    """409 with the existing person, inside the caller's area (the contract: open that file instead)."""

    def __init__(self, existing_id: str, commune_code: str) -> None:
        super().__init__(
            f"a person with this citizen id is already on record: {existing_id}",
            {"citizen_id": "already on record (Số CCCD đã có trong hồ sơ)"},
            person_id=existing_id,
        )
        self.audit_note = AuditNote("register_refused", existing_id, commune_code)


def refuse_known_citizen(holder: Holder | None, units: AdminUnits, who: Principal, attempted_commune: str) -> None:
    """Refuse a registration whose citizen id is on record: with the person inside the area, without outside.

    `holder` is the person the citizen id is on record for, the commune they are managed in now and the date it
    was recorded (None: not on record), as the registry's records find it (services/registry/records.py); the
    area is today's (shared.runtime.auth.sees).
    """
    if holder is None:
        return
    existing, commune, recorded_on = holder
    if commune is not None and recorded_on is not None and sees(who, units, commune, recorded_on):
        raise KnownCitizen(existing, commune)
    raise OnRecordElsewhere(existing, commune, attempted_commune)
