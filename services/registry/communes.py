"""Checks that a commune code names a real commune on the legal date, with a message that says what to use."""

from __future__ import annotations

from datetime import date

from shared.kernel.rules import RuleViolation
from shared.vn.units import AdminUnits, UnknownUnitError, edition_for


def check_commune(units: AdminUnits, code: str, on: date, field: str = "commune_code") -> None:
    """Refuse (422 on `field`) a code that is not a commune in the GSO list valid on `on`."""
    edition = edition_for(on)
    try:
        unit = units.get(code, edition=edition)
    except UnknownUnitError:
        unit = None
    if unit is not None and unit.level == "commune":
        return
    if unit is not None:
        message = f"{code} is a {unit.level} ({unit.name}), not a commune"
        message_vi = f"{code} là mã cấp {unit.level} ({unit.name}), không phải mã xã"
    elif edition == "2025" and units.exists(code, date(2025, 6, 30)):
        successors = ", ".join(units.successors(code)) or "no successor"
        message = f"commune {code} was dissolved on 2025-07-01; on {on} use its successor ({successors})"
        message_vi = f"xã {code} không còn từ 01/07/2025; ngày {on} hãy dùng mã xã mới ({successors})"
    elif edition == "2024" and units.exists(code, date(2025, 7, 1)):
        message = f"commune {code} only exists from 2025-07-01; on {on} use the code of the commune at that time"
        message_vi = f"mã xã {code} chỉ có từ 01/07/2025; ngày {on} hãy dùng mã xã cũ"
    else:
        message = f"unknown commune code {code}: not in the GSO list valid on {on}"
        message_vi = f"mã xã {code} không có trong danh mục hành chính ngày {on}"
    raise RuleViolation("unknown_commune", message, message_vi, kind="invalid", field=field)
