"""Every reason a case command is refused, worded for the official who entered it (English and Vietnamese)."""

from __future__ import annotations

from datetime import date

from shared.kernel.rules import RuleViolation
from shared.vn.labels import CASE_ACTION_EN as ACTION_EN
from shared.vn.labels import CASE_ACTION_VI as ACTION_VI
from shared.vn.labels import CASE_STATE_EN as STATE_EN
from shared.vn.labels import CASE_STATE_VI as STATE_VI


def bad_transition(action: str, state: str, absconded_on: date | None) -> RuleViolation:
    if action == "complete" and state == "absconded":
        return RuleViolation(
            "case_absconded",
            f"the person absconded on {absconded_on} and has not returned: record the return before completion",
            f"người này bỏ trốn từ ngày {absconded_on} và chưa trở lại: hãy ghi nhận trở lại trước khi hoàn thành",
        )
    if action == "start_post_rehab" and state in ("active", "absconded"):
        return RuleViolation(
            "not_completed",
            "post-rehab management can only start after the treatment is completed",
            "chỉ quyết định quản lý sau cai nghiện khi đã hoàn thành cai nghiện/điều trị",
        )
    return RuleViolation(
        "invalid_transition",
        f"cannot {ACTION_EN[action]}: the case is {STATE_EN[state]}",
        f"không thể {ACTION_VI[action]}: hồ sơ {STATE_VI[state]}",
        state=state,
    )


def not_future(field: str, on: date, today: date) -> None:
    if on > today:
        raise RuleViolation(
            "date_in_future",
            f"{field} {on} is in the future; enter the date written on the decision",
            f"{field} {on} là ngày trong tương lai; hãy nhập ngày ghi trên quyết định",
            kind="invalid",
            field=field,
        )


def out_of_order(field: str, on: date, other: str, other_on: date) -> RuleViolation:
    return RuleViolation(
        "dates_out_of_order",
        f"{field} {on} is before {other} {other_on}",
        f"{field} {on} trước {other} {other_on}",
        kind="invalid",
        field=field,
    )


def before_last_event(field: str, on: date, last_on: date, last_event: str) -> RuleViolation:
    return RuleViolation(
        "dates_out_of_order",
        f"{field} {on} is before the case's last recorded step ({last_event.replace('_', ' ')} on {last_on})",
        f"{field} {on} trước bước gần nhất của hồ sơ (ngày {last_on})",
        kind="invalid",
        field=field,
    )


def unknown_person(person_id: str) -> RuleViolation:
    return RuleViolation(
        "unknown_person",
        f"person {person_id} is not on record in the registry (or the registry's event has not arrived yet)",
        f"người {person_id} chưa có hồ sơ quản lý trong sổ đăng ký",
        kind="invalid",
        field="person_id",
    )


def person_closed(person_id: str) -> RuleViolation:
    return RuleViolation(
        "person_not_on_record",
        f"person {person_id}'s record is closed (merged into another record or deceased)",
        f"hồ sơ của người {person_id} đã đóng (đã gộp hoặc đã chết)",
        field="person_id",
    )


def open_case_exists(case_id: str, state: str) -> RuleViolation:
    return RuleViolation(
        "open_case_exists",
        f"the person already has an open case {case_id} ({STATE_EN[state]}); close it before a new enrolment",
        f"người này đang có hồ sơ {case_id} ({STATE_VI[state]}); cần kết thúc trước khi lập hồ sơ mới",
        case_id=case_id,
    )


def not_determined(person_id: str) -> RuleViolation:
    return RuleViolation(
        "not_determined_addicted",
        f"person {person_id} has no 'addicted' determination on record; rehab needs one (record it in the registry)",
        f"người {person_id} chưa có kết quả xác định là nghiện; cần xác định tình trạng nghiện trước khi cai nghiện",
        field="person_id",
    )


def court_decision_required() -> RuleViolation:
    return RuleViolation(
        "court_decision_required",
        "compulsory rehab needs the number of the court decision",
        "cai nghiện bắt buộc cần số quyết định của Tòa án nhân dân",
        kind="invalid",
        field="court_decision_number",
    )


def too_young(minimum: int) -> RuleViolation:
    return RuleViolation(
        "too_young",
        f"rehab measures apply from age {minimum}",
        f"biện pháp cai nghiện áp dụng từ đủ {minimum} tuổi",
        kind="invalid",
        field="started_on",
    )


def duration_out_of_range(
    modality: str, group: str, bounds: tuple[int, int], months: int | None, since: date
) -> RuleViolation:
    low, high = bounds
    return RuleViolation(
        "duration_out_of_range",
        f"{modality} rehab for {'adults' if group == 'adult' else 'minors'} lasts {low} to {high} months"
        f" (rules from {since}); planned_months is {months}",
        f"thời hạn cai nghiện {modality} là {low} đến {high} tháng (quy định từ {since}); đã nhập {months}",
        kind="invalid",
        field="planned_months",
    )


def cannot_abscond(modality: str) -> RuleViolation:
    return RuleViolation(
        "not_residential",
        f"a {modality} case is not held in a facility, so it cannot abscond: record a dropout instead",
        f"hồ sơ {modality} không ở tại cơ sở nên không thể bỏ trốn: hãy ghi nhận bỏ dở",
    )


def compulsory_cannot_drop_out() -> RuleViolation:
    return RuleViolation(
        "compulsory_cannot_drop_out",
        "compulsory rehab cannot be dropped: record an abscondment (or a termination by decision)",
        "cai nghiện bắt buộc không thể bỏ dở: hãy ghi nhận bỏ trốn (hoặc chấm dứt theo quyết định)",
    )


def too_early(completed_on: date, earliest: date, minimum: int, absconded_days: int) -> RuleViolation:
    extra = f" plus {absconded_days} days absconded" if absconded_days else ""
    return RuleViolation(
        "completed_too_early",
        f"completion on {completed_on} is before the minimum {minimum} months{extra} (earliest {earliest})",
        f"ngày hoàn thành {completed_on} chưa đủ thời hạn tối thiểu {minimum} tháng (sớm nhất {earliest})",
        kind="invalid",
        field="completed_on",
    )


def post_rehab_length(modality: str, legal: int, months: int, since: date) -> RuleViolation:
    return RuleViolation(
        "post_rehab_length",
        f"post-rehab management after {modality} lasts {legal} months (rules from {since}), not {months}",
        f"quản lý sau cai nghiện sau {modality} là {legal} tháng (quy định từ {since}), không phải {months}",
        kind="invalid",
        field="months",
    )


def unknown_case(case_id: str) -> RuleViolation:
    return RuleViolation("unknown_case", f"no case {case_id}", f"không có hồ sơ {case_id}", kind="not_found")


def no_positive_test() -> RuleViolation:
    return RuleViolation(
        "no_positive_test",
        "no positive drug test of this post-rehab management awaits a decision",
        "không có kết quả xét nghiệm dương tính nào đang chờ kết luận",
    )


def unknown_move(move: int | None) -> RuleViolation:
    which = f"move {move}" if move is not None else "a move"
    return RuleViolation(
        "unknown_move",
        f"the case has no {which} under post-rehab management that owes this duty",
        "hồ sơ không có lần chuyển nơi cư trú nào trong thời gian quản lý sau cai nghiện cần ghi nhận việc này",
        kind="invalid",
        field="move",
    )


def already_recorded(what: str, on: date) -> RuleViolation:
    return RuleViolation(
        "already_recorded",
        f"the {what} of this move was already recorded on {on}",
        f"việc này đã được ghi nhận ngày {on}",
    )


def monitoring_not_in_force(on: date, since: date) -> RuleViolation:
    return RuleViolation(
        "monitoring_not_in_force",
        f"electronic monitoring is not a measure of the law in force on {on} (rules from {since}); "
        "it exists from 2026-07-01 (Law 120/2025)",
        f"ngày {on} pháp luật chưa quy định biện pháp giám sát điện tử (áp dụng từ 01/7/2026, Luật 120/2025)",
        kind="invalid",
        field="ordered_on",
    )


def monitoring_not_applicable(modality: str, state: str) -> RuleViolation:
    return RuleViolation(
        "monitoring_not_applicable",
        f"electronic monitoring applies to voluntary rehab at home or in the community, substitution therapy and "
        f"post-rehab management; this {modality} case is {STATE_EN[state]}",
        f"giám sát điện tử chỉ áp dụng với người cai nghiện tự nguyện tại gia đình, cộng đồng, người điều trị "
        f"bằng thuốc thay thế và người bị quản lý sau cai nghiện; hồ sơ {modality} {STATE_VI[state]}",
    )


def monitoring_running(starts_on: date, ends_on: date) -> RuleViolation:
    return RuleViolation(
        "monitoring_running",
        f"an electronic monitoring order from {starts_on} to {ends_on} is running: end it first",
        f"đang có quyết định giám sát điện tử từ {starts_on} đến {ends_on}: cần kết thúc trước",
    )


def no_monitoring() -> RuleViolation:
    return RuleViolation(
        "no_monitoring",
        "no electronic monitoring order of this case is running",
        "hồ sơ không có quyết định giám sát điện tử nào đang thực hiện",
    )
