"""Every word the web app shows, in Vietnamese (the default) and English; dates as dd/mm/yyyy.

The system's codes (indicators, modalities, case states, steps) take their Vietnamese words from shared/vn/labels.py,
the one source the exports and the refusals read too.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from zoneinfo import ZoneInfo

from shared.vn import labels

LANGS = ("vi", "en")
VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")

TEXT: dict[str, tuple[str, str]] = {
    "app": ("Quản lý cai nghiện và sau cai nghiện", "Drug rehabilitation and post-rehab management"),
    "nav.home": ("Trang chủ", "Dashboard"),
    "nav.work": ("Việc cần làm", "Work list"),
    "nav.people": ("Hồ sơ", "People"),
    "nav.import": ("Nhập danh sách", "Import a list"),
    "nav.plans": ("Kế hoạch", "Plans"),
    "nav.reports": ("Báo cáo", "Reports"),
    "nav.ops": ("Vận hành", "Operations"),
    "sign_in": ("Đăng nhập", "Sign in"),
    "sign_out": ("Đăng xuất", "Sign out"),
    "welcome": (
        "Hệ thống theo dõi người cai nghiện ma túy và quản lý sau cai nghiện cho cấp xã, cấp tỉnh.",
        "Tracking people in drug rehabilitation and post-rehab management for communes and provinces.",
    ),
    "welcome.sign_in": (
        "Đăng nhập bằng tài khoản do cơ quan cấp để xem việc cần làm hôm nay.",
        "Sign in with the account your office gave you to see what needs doing today.",
    ),
    "session.expired": (
        "Phiên làm việc đã hết hạn, vui lòng đăng nhập lại.",
        "Your session expired; please sign in again.",
    ),
    "signed_out": ("Đã đăng xuất.", "You are signed out."),
    "forbidden.title": ("Không có quyền truy cập", "Access denied"),
    "forbidden.body": (
        "Bạn không có quyền xem trang này, hoặc hồ sơ không thuộc địa bàn của bạn.",
        "You may not open this page, or the record is not in your area.",
    ),
    "notfound.title": ("Không tìm thấy trang", "Page not found"),
    "error.title": ("Không thực hiện được", "Something went wrong"),
    "unavailable": (
        "Dịch vụ tạm thời không trả lời, vui lòng thử lại sau.",
        "A service is not answering; try again shortly.",
    ),
    "back_home": ("Về trang chủ", "Back to the dashboard"),
    "unit": ("Đơn vị", "Unit"),
    "period": ("Kỳ", "Period"),
    "year": ("Năm", "Year"),
    "show": ("Xem", "Show"),
    "save": ("Lưu", "Save"),
    "cancel": ("Hủy", "Cancel"),
    "search": ("Tìm kiếm", "Search"),
    "optional": ("không bắt buộc", "optional"),
    "none": ("Không có", "None"),
    "status": ("Tình trạng", "Status"),
    "value": ("Kết quả", "Value"),
    "target": ("Chỉ tiêu", "Target"),
    "indicator": ("Chỉ số", "Indicator"),
    "commune": ("Xã", "Commune"),
    "village": ("Thôn, tổ dân phố", "Village"),
    "home.title": ("Tình hình thực hiện kế hoạch", "Where the plan stands"),
    "home.quota": ("Chỉ tiêu cai nghiện theo đơn vị", "Rehab quotas by unit"),
    "home.coverage": ("Quản lý sau cai nghiện", "Post-rehab management"),
    "home.coverage.text": (
        "{covered}/{completers} người hoàn thành đã có quyết định quản lý sau cai nghiện",
        "{covered} of {completers} people who finished are under post-rehab management",
    ),
    "home.ranked": ("Các đơn vị theo mức độ chậm", "Units ranked by what is behind"),
    "home.no_plan": ("Chưa có kế hoạch cho năm này.", "No plan for this year yet."),
    "status.met": ("Đạt", "Met"),
    "status.on_track": ("Đúng tiến độ", "On track"),
    "status.behind": ("Chưa đạt", "Behind"),
    "work.title": ("Việc cần làm", "Work list"),
    "work.empty": ("Không có việc nào cần làm.", "Nothing to act on."),
    "work.kind": ("Loại việc", "Kind"),
    "work.all": ("Tất cả", "All"),
    "work.person": ("Người", "Person"),
    "work.due": ("Thời hạn", "Due"),
    "work.next": ("Bước tiếp theo", "Next step"),
    "work.days_left": ("còn {n} ngày làm việc", "{n} working days left"),
    "work.days_over": ("quá hạn {n} ngày làm việc", "{n} working days overdue"),
    "work.days_since": ("{n} ngày", "{n} days"),
    "work.due_today": ("đến hạn hôm nay", "due today"),
    "work.name_hidden": ("(không hiển thị tên)", "(name not shown)"),
    "kind.awaiting_post_rehab_decision": ("Chờ quyết định quản lý sau cai", "Awaiting a post-rehab decision"),
    "kind.absconders_at_large": ("Bỏ trốn chưa trở lại", "Absconded, at large"),
    "kind.post_rehab_ending": ("Sắp hết thời hạn quản lý sau cai", "Post-rehab period ending"),
    "kind.planned_end_passed": ("Quá thời hạn cai nghiện dự kiến", "Planned end passed"),
    "kind.positive_test_during_post_rehab": (
        "Xét nghiệm dương tính khi quản lý sau cai",
        "Positive test under post-rehab",
    ),
    "kind.move_notices_pending": ("Thông báo chuyển nơi cư trú", "Move to notify"),
    "kind.move_reports_pending": ("Trình diện nơi cư trú mới", "Move report owed"),
    "kind.pending_assignment": ("Xã bị chia tách: chờ phân công xã", "Split commune: assign a commune"),
    "people.title": ("Hồ sơ người sử dụng, người nghiện", "People on record"),
    "people.search": ("Họ tên hoặc số CCCD", "Name or citizen id"),
    "people.new": ("Thêm người vào hồ sơ quản lý", "Put a person on record"),
    "people.none": ("Không tìm thấy người nào.", "No one found."),
    "people.registered": ("Đã lập hồ sơ cho {name}.", "{name} is on record."),
    "person.timeline": ("Diễn biến", "Timeline"),
    "person.cases": ("Quá trình cai nghiện, điều trị", "Cases"),
    "person.actions": ("Thao tác", "Actions"),
    "person.duplicates": (
        "Có thể trùng với hồ sơ khác: kiểm tra và hợp nhất nếu là cùng một người.",
        "This may be the same person as another record: check, and merge if so.",
    ),
    "person.merge_this": ("Hợp nhất hồ sơ trùng vào hồ sơ này", "Merge that duplicate into this record"),
    "person.closed": ("Hồ sơ đã đóng.", "The record is closed."),
    "person.recorded": ("Đã ghi nhận.", "Recorded."),
    "timeline.legal_date": ("Ngày pháp lý", "Legal date"),
    "timeline.recorded_at": ("Thời điểm ghi", "Recorded at"),
    "timeline.by": ("Người ghi", "Recorded by"),
    "timeline.system": ("Hệ thống (theo sự kiện liên quan)", "The system (following a related event)"),
    "timeline.event": ("Sự kiện", "Event"),
    "timeline.details": ("Chi tiết", "Details"),
    "import.title": ("Nhập danh sách rà soát của công an", "Import a police review list"),
    "import.file": ("Tệp CSV hoặc XLSX", "CSV or XLSX file"),
    "import.hint": (
        "Mỗi dòng một người: họ tên, ngày sinh, giới tính, số CCCD, mã xã, thôn, tình trạng.",
        "One row per person: name, date of birth, sex, citizen id, commune code, village, status.",
    ),
    "import.send": ("Tải lên", "Upload"),
    "import.progress": ("Đang xử lý {processed}/{total} dòng", "Processing {processed} of {total} rows"),
    "import.done": ("Đã xử lý xong", "Finished"),
    "import.created": ("Đã lập hồ sơ", "Put on record"),
    "import.duplicates": ("Đã có hồ sơ", "Already on record"),
    "import.rejected": ("Dòng bị từ chối", "Rejected rows"),
    "import.row": ("Dòng", "Row"),
    "import.reasons": ("Lý do", "Reasons"),
    "import.download_rejected": (
        "Tải các dòng bị từ chối (CSV) để sửa và tải lại",
        "Download the rejected rows to fix",
    ),
    "import.failed": ("Không nhập được tệp", "The file could not be imported"),
    "plans.title": ("Kế hoạch chỉ tiêu", "Plans and quotas"),
    "plans.document": ("Văn bản", "Document"),
    "plans.history": ("Lịch sử kế hoạch", "Plan history"),
    "plans.version": ("Phiên bản", "Version"),
    "plans.saved": ("Đã lưu kế hoạch.", "The plan is saved."),
    "plans.refused": ("Chưa lưu được các dòng sau:", "These rows were not saved:"),
    "plans.own": ("Chỉ tiêu của đơn vị", "The unit's own quota"),
    "reports.title": ("Báo cáo định kỳ", "Periodic report"),
    "reports.download": ("Tải về", "Download"),
    "nav.submissions": ("Gửi và duyệt báo cáo", "Report submissions"),
    "cycle.title": ("Báo cáo gửi cấp trên", "Reports sent up"),
    "cycle.submit": ("Gửi báo cáo kỳ này", "Submit this period's report"),
    "cycle.submit_note": (
        "Báo cáo được chốt theo số liệu đã nhập đến thời điểm gửi; số liệu nhập sau sẽ được liệt kê là nhập muộn.",
        "The report is fixed on the data entered up to the moment it is sent; later entries are listed as late.",
    ),
    "cycle.submitted": ("Đã gửi báo cáo (mã băm {sha256}…).", "Report submitted (hash {sha256}…)."),
    "cycle.none": ("Chưa có bản gửi nào trong kỳ này.", "Nothing submitted for this period yet."),
    "cycle.number": ("Lần gửi", "Submission"),
    "cycle.status": ("Trạng thái", "Status"),
    "cycle.submitted_at": ("Thời điểm gửi", "Sent at"),
    "cycle.submitted_by": ("Người gửi", "Sent by"),
    "cycle.reviewed_by": ("Người duyệt", "Reviewed by"),
    "cycle.hash": ("Mã băm SHA-256", "SHA-256 hash"),
    "cycle.state": ("Báo cáo: {state}.", "Report: {state}."),
    "cycle.state.draft": ("chưa gửi", "not sent"),
    "cycle.state.submitted": ("đã gửi, chờ duyệt", "sent, awaiting review"),
    "cycle.state.returned": ("bị trả lại", "returned"),
    "cycle.state.approved": ("đã phê duyệt", "approved"),
    "cycle.state.reopened": ("đã mở lại", "reopened"),
    "cycle.side_by_side": ("Số liệu đã gửi và số liệu hiện tại", "As submitted and as of now"),
    "cycle.as_submitted": ("Đã gửi", "As submitted"),
    "cycle.now": ("Hiện tại", "Now"),
    "cycle.late": ("Số liệu nhập sau khi gửi", "Entered after the submission"),
    "cycle.late_none": ("Không có số liệu nhập muộn làm thay đổi báo cáo.", "No late entry changes this report."),
    "cycle.record": ("Hồ sơ", "Record"),
    "cycle.events": ("Sự kiện", "Events"),
    "cycle.change": ("Thay đổi", "Change"),
    "cycle.approve": ("Phê duyệt", "Approve"),
    "cycle.return": ("Trả lại", "Return"),
    "cycle.reopen": ("Mở lại", "Reopen"),
    "cycle.history": ("Quá trình", "History"),
    "cycle.completeness": ("Tình hình gửi báo cáo của các xã", "Which communes have reported"),
    "cycle.deadline": ("Hạn gửi", "Deadline"),
    "cycle.deadline_unverified": ("chưa đối chiếu văn bản", "not verified against the text"),
    "cycle.not_submitted": ("Chưa gửi", "Not submitted"),
    "cycle.on_time": ("Đúng hạn", "On time"),
    "cycle.late_by": ("Chậm {days} ngày", "{days} days late"),
    "cycle.consolidation": ("Tổng hợp từ các báo cáo đã phê duyệt", "Consolidated from the approved reports"),
    "cycle.counts": (
        "{submitted}/{communes} xã đã gửi, {approved} đã phê duyệt, {missing} chưa gửi (không tính là 0).",
        "{submitted}/{communes} communes sent, {approved} approved, {missing} not sent (not counted as zero).",
    ),
    "ops.title": ("Vận hành hệ thống", "Operations"),
    "ops.ready": ("Sẵn sàng", "Ready"),
    "ops.not_ready": ("Không sẵn sàng", "Not ready"),
    "ops.lag": ("Độ trễ cập nhật báo cáo", "Reporting lag"),
    "ops.dead": ("Thông điệp lỗi (dead letters)", "Dead letters"),
    "ops.replay": ("Xử lý lại", "Replay"),
    "ops.replayed": (
        "{service}: đã xử lý lại {reapplied} thông điệp, {failed} vẫn lỗi",
        "{service}: {reapplied} message(s) applied again, {failed} failed again",
    ),
    "ops.rebuild": ("Dựng lại số liệu báo cáo", "Rebuild the reports"),
    "ops.rebuilding": ("Đang dựng lại", "Rebuilding"),
    "sex.male": ("Nam", "Male"),
    "sex.female": ("Nữ", "Female"),
    "pstatus.user": ("Người sử dụng trái phép", "Illicit drug user"),
    "pstatus.addict": ("Người nghiện", "Person with addiction"),
    "result.addicted": ("Nghiện ma túy", "Addicted"),
    "result.not_addicted": ("Không nghiện", "Not addicted"),
    "result.positive": ("Dương tính", "Positive"),
    "result.negative": ("Âm tính", "Negative"),
    "source.police_review": ("Rà soát của công an", "Police review"),
    "source.self_report": ("Tự khai báo", "Self-report"),
    "source.health_referral": ("Cơ sở y tế chuyển", "Health referral"),
    "role.commune_officer": ("Cán bộ xã", "Commune officer"),
    "role.commune_police": ("Công an xã", "Commune police"),
    "role.district_officer": ("Cán bộ huyện", "District officer"),
    "role.province_officer": ("Cán bộ tỉnh", "Province officer"),
    "role.health_facility": ("Cơ sở y tế", "Health facility"),
    "role.auditor": ("Thanh tra", "Auditor"),
    "role.ops": ("Vận hành", "Operations"),
    "role.admin": ("Quản trị", "Administrator"),
}

FIELDS: dict[str, tuple[str, str]] = {
    "full_name": ("Họ và tên", "Full name"),
    "date_of_birth": ("Ngày sinh", "Date of birth"),
    "sex": ("Giới tính", "Sex"),
    "citizen_id": ("Số CCCD", "Citizen id"),
    "commune_code": ("Mã xã", "Commune code"),
    "village": ("Thôn, tổ dân phố", "Village"),
    "status": ("Tình trạng", "Status"),
    "source": ("Nguồn", "Source"),
    "recorded_on": ("Ngày ghi nhận", "Recorded on"),
    "result": ("Kết quả", "Result"),
    "determined_on": ("Ngày xác định", "Determined on"),
    "facility": ("Cơ sở", "Facility"),
    "form_number": ("Số phiếu", "Form number"),
    "moved_on": ("Ngày chuyển", "Moved on"),
    "duplicate_id": ("Mã hồ sơ trùng", "Duplicate record id"),
    "merged_on": ("Ngày hợp nhất", "Merged on"),
    "died_on": ("Ngày mất", "Died on"),
    "decided_on": ("Ngày quyết định", "Decided on"),
    "decision_number": ("Số quyết định", "Decision number"),
    "modality": ("Hình thức", "Modality"),
    "started_on": ("Ngày bắt đầu", "Started on"),
    "planned_months": ("Thời hạn (tháng)", "Planned months"),
    "court_decision_number": ("Số quyết định của Tòa án", "Court decision number"),
    "completed_on": ("Ngày hoàn thành", "Completed on"),
    "certificate_number": ("Số giấy chứng nhận", "Certificate number"),
    "absconded_on": ("Ngày bỏ trốn", "Absconded on"),
    "returned_on": ("Ngày trở lại", "Returned on"),
    "dropped_on": ("Ngày bỏ dở", "Dropped out on"),
    "terminated_on": ("Ngày chấm dứt", "Terminated on"),
    "reason": ("Lý do", "Reason"),
    "comment": ("Ý kiến", "Comment"),
    "document_number": ("Số văn bản", "Document number"),
    "starts_on": ("Ngày bắt đầu", "Starts on"),
    "months": ("Thời hạn (tháng)", "Months"),
    "mentor": ("Người được giao quản lý, giúp đỡ", "Mentor"),
    "ended_on": ("Ngày kết thúc", "Ended on"),
    "detected_on": ("Ngày phát hiện", "Detected on"),
    "tested_on": ("Ngày xét nghiệm", "Tested on"),
    "move": ("Lần chuyển", "Move"),
    "noticed_on": ("Ngày thông báo", "Noticed on"),
    "reported_on": ("Ngày trình diện", "Reported on"),
    "ordered_on": ("Ngày ra quyết định", "Ordered on"),
    "ends_on": ("Ngày kết thúc", "Ends on"),
    "file": ("Tệp", "File"),
    "document": ("Văn bản", "Document"),
}

ACTIONS_EN = {
    **labels.CASE_ACTION_EN,
    "register": "put a person on record",
    "determine": "record an addiction determination",
    "move": "move management to another commune",
    "merge": "merge a duplicate record",
    "record_death": "record the death",
    "enroll": "enrol in rehab or treatment",
    "move_notice": "record the move notice",
    "move_report": "record the move report",
    "assign": "assign to a successor commune",
}
ACTIONS_VI = {
    **labels.CASE_ACTION_VI,
    "register": "lập hồ sơ quản lý",
    "determine": "ghi nhận xác định tình trạng nghiện",
    "move": "chuyển nơi quản lý",
    "merge": "hợp nhất hồ sơ trùng",
    "record_death": "ghi nhận người đã mất",
    "enroll": "đưa vào cai nghiện, điều trị",
    "move_notice": "ghi nhận thông báo chuyển nơi cư trú",
    "move_report": "ghi nhận trình diện nơi cư trú mới",
    "assign": "phân công về xã kế thừa",
}
MODALITY_EN = {
    "compulsory": "Compulsory rehab",
    "voluntary_community": "Voluntary, at home and in the community",
    "voluntary_facility": "Voluntary, at a facility",
    "methadone": "Methadone treatment",
}
EVENTS_VI = {
    "person_registered": "Lập hồ sơ",
    "addiction_determined": "Xác định tình trạng nghiện",
    "residence_changed": "Chuyển nơi cư trú",
    "person_assigned_after_reorganisation": "Phân công xã sau sắp xếp",
    "records_merged": "Hợp nhất hồ sơ",
    "person_died": "Người đã mất",
    "case_enrolled": "Đưa vào cai nghiện, điều trị",
    "case_absconded": "Bỏ trốn",
    "case_returned": "Trở lại",
    "case_completed": "Hoàn thành",
    "case_dropped_out": "Bỏ dở",
    "case_terminated": "Chấm dứt",
    "post_rehab_started": "Quyết định quản lý sau cai nghiện",
    "post_rehab_ended": "Kết thúc quản lý sau cai nghiện",
    "relapse_recorded": "Tái nghiện",
    "drug_test_recorded": "Xét nghiệm ma túy",
    "relapse_ruled_out": "Kết luận không tái nghiện",
    "case_transferred": "Chuyển nơi quản lý",
    "move_notice_sent": "Thông báo chuyển nơi cư trú",
    "move_reported": "Trình diện nơi cư trú mới",
    "electronic_monitoring_ordered": "Giám sát điện tử",
    "electronic_monitoring_ended": "Kết thúc giám sát điện tử",
}


def translator(lang: str) -> Callable[..., str]:
    """t(key, **values): the text of `key` in `lang`, with its {placeholders} filled."""
    index = 0 if lang == "vi" else 1

    def t(key: str, **values: object) -> str:
        pair = TEXT.get(key) or FIELDS.get(key)
        text = pair[index] if pair else key
        return text.format(**values) if values else text

    return t


def label(lang: str, kind: str, code: str | None) -> str:
    """The word for a code of `kind` (indicator, modality, state, action, event, status) in `lang`."""
    if code is None:
        return ""
    vi = lang == "vi"
    table = {
        "indicator": labels.INDICATOR_VI if vi else {},
        "modality": labels.MODALITY_VI if vi else MODALITY_EN,
        "state": labels.CASE_STATE_VI if vi else labels.CASE_STATE_EN,
        "action": ACTIONS_VI if vi else ACTIONS_EN,
        "event": EVENTS_VI if vi else {},
    }.get(kind, {})
    found = table.get(code)
    if found:
        return found[:1].upper() + found[1:]
    return code.replace("_", " ").capitalize()


def dmy(value: object) -> str:
    """A date as dd/mm/yyyy (an ISO string or a date); a timestamp in Vietnam's time with hh:mm."""
    if value in (None, ""):
        return ""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
        except ValueError:
            return str(value)
    if isinstance(value, datetime):
        return value.astimezone(VIETNAM).strftime("%d/%m/%Y %H:%M")
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    return str(value)
