"""The words officials read for the system's codes, one source for the exports, the refusals and the web app.

Vietnamese is the working language; English beside it where a page offers the switch.
"""

from __future__ import annotations

INDICATOR_VI = {
    "compulsory_rehab_enrolments": "Số người cai nghiện bắt buộc",
    "voluntary_community_rehab_enrolments": "Số người cai nghiện tự nguyện tại gia đình, cộng đồng",
    "voluntary_facility_rehab_enrolments": "Số người cai nghiện tự nguyện tại cơ sở",
    "methadone_enrolments": "Số người bắt đầu điều trị Methadone",
    "post_rehab_management_coverage": "Tỷ lệ người hoàn thành được quản lý sau cai nghiện",
    "share_of_recorded_users_reaching_services": "Tỷ lệ người có hồ sơ quản lý được tiếp cận dịch vụ",
    "share_of_managed_addicts_not_in_treatment_who_register": "Tỷ lệ người nghiện chưa điều trị được vận động",
    "methadone_patients_maintained": "Số người đang điều trị Methadone (duy trì)",
    "methadone_patients_at_year_end": "Số người điều trị Methadone cuối kỳ",
    "absconders_at_large": "Số học viên bỏ trốn chưa trở lại",
    "completers_awaiting_post_rehab_decision": "Số người hoàn thành chưa có quyết định quản lý sau cai",
}
MODALITY_VI = {
    "compulsory": "Cai nghiện bắt buộc",
    "voluntary_community": "Tự nguyện tại gia đình, cộng đồng",
    "voluntary_facility": "Tự nguyện tại cơ sở",
    "methadone": "Điều trị Methadone",
}
STATUS_VI = {"met": "Đạt", "on_track": "Đúng tiến độ", "behind": "Chưa đạt", None: ""}
SEX_VI = {"male": "Nam", "female": "Nữ", "unknown": "Không rõ"}
PERSON_STATUS_VI = {"addict": "Người nghiện", "user": "Người sử dụng trái phép"}

CASE_STATE_EN = {
    "active": "in treatment",
    "absconded": "absconded",
    "completed": "completed and awaiting a post-rehab decision",
    "post_rehab": "under post-rehab management",
    "post_rehab_ended": "closed (post-rehab management ended)",
    "dropped_out": "closed (dropped out)",
    "terminated": "closed (terminated)",
    "relapsed": "closed (relapse recorded)",
}
CASE_STATE_VI = {
    "active": "đang cai nghiện/điều trị",
    "absconded": "đang bỏ trốn",
    "completed": "đã hoàn thành, chờ quyết định quản lý sau cai nghiện",
    "post_rehab": "đang quản lý sau cai nghiện",
    "post_rehab_ended": "đã kết thúc quản lý sau cai nghiện",
    "dropped_out": "đã bỏ dở",
    "terminated": "đã chấm dứt",
    "relapsed": "đã ghi nhận tái nghiện",
}
CASE_ACTION_EN = {
    "abscond": "record an abscondment",
    "return": "record a return",
    "drop_out": "record a dropout",
    "terminate": "terminate the case",
    "complete": "complete the case",
    "start_post_rehab": "start post-rehab management",
    "end_post_rehab": "end post-rehab management",
    "relapse": "record a relapse",
    "drug_test": "record a drug test",
    "rule_out_relapse": "rule out a relapse",
    "order_monitoring": "order electronic monitoring",
    "end_monitoring": "end electronic monitoring",
}
CASE_ACTION_VI = {
    "abscond": "ghi nhận bỏ trốn",
    "return": "ghi nhận trở lại",
    "drop_out": "ghi nhận bỏ dở",
    "terminate": "chấm dứt hồ sơ",
    "complete": "ghi nhận hoàn thành",
    "start_post_rehab": "quyết định quản lý sau cai nghiện",
    "end_post_rehab": "kết thúc quản lý sau cai nghiện",
    "relapse": "ghi nhận tái nghiện",
    "drug_test": "ghi nhận kết quả xét nghiệm ma túy",
    "rule_out_relapse": "kết luận không tái nghiện",
    "order_monitoring": "quyết định giám sát điện tử",
    "end_monitoring": "kết thúc giám sát điện tử",
}
