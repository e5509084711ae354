"""Why a registry command was refused, in words a commune official can act on (English and Vietnamese)."""

from __future__ import annotations

from shared.kernel.rules import RuleViolation


def closed_record(person_id: str, merged_into: str | None, died: bool) -> RuleViolation:
    if merged_into:
        return RuleViolation(
            "record_merged",
            f"person {person_id} was merged into {merged_into}; record changes on {merged_into}",
            f"hồ sơ {person_id} đã được gộp vào {merged_into}; hãy cập nhật trên hồ sơ {merged_into}",
        )
    assert died
    return RuleViolation(
        "person_deceased",
        f"person {person_id} is recorded as deceased; the record is closed",
        f"người {person_id} đã được ghi nhận là đã chết; hồ sơ đã đóng",
    )


def date_in_future(field: str, label_vi: str) -> RuleViolation:
    return RuleViolation(
        "date_in_future",
        f"{field} is in the future; enter the date written on the decision or form",
        f"{label_vi} là ngày trong tương lai; hãy nhập ngày ghi trên quyết định hoặc phiếu",
        kind="invalid",
        field=field,
    )
