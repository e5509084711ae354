"""Free text, document references and spreadsheet cells (shared/vn/text.py), and citizen ids (registry schemas)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from services.registry.schemas import NewPerson, normalise_citizen_id
from shared.vn.text import free_text, reference, spreadsheet_cell

HIDDEN = ["\u202e", "\u200b", "\u00ad", "\ufeff", "\x00", "\x1b", "\x7f"]


@pytest.mark.parametrize("char", HIDDEN)
def test_control_and_format_characters_are_refused_in_free_text(char: str) -> None:
    with pytest.raises(ValueError, match=r"control characters|formatting characters"):
        free_text(f"Hội CCB{char}xã")


def test_free_text_is_nfkc_normalised_and_whitespace_collapsed() -> None:
    assert free_text("Ｈội  CCB\txã\n") == "Hội CCB xã"
    assert free_text("Nguyễn Văn Bình") == "Nguyễn Văn Bình"  # decomposed diacritics are composed (NFKC)


@pytest.mark.parametrize(
    "typed",
    ["024090000123", "ghi chú 024 090 000 123", "024.090.000.123", "０２４０９００００１２３", "٠٢٤٠٩٠٠٠٠١٢٣"],
)
def test_a_run_of_12_digits_looks_like_a_citizen_id_and_is_refused(typed: str) -> None:
    with pytest.raises(ValueError, match="looks like a citizen id; do not type citizen ids here"):
        free_text(typed)
    with pytest.raises(ValueError, match="looks like a citizen id"):
        reference(typed)


def test_shorter_digit_runs_in_free_text_are_kept() -> None:
    assert free_text("gọi 0912 345 678 ngày 2024-01-05") == "gọi 0912 345 678 ngày 2024-01-05"


@pytest.mark.parametrize(
    "number",
    ["12/QĐ-UBND", "45/2024/QĐ-TA", "KH/UBND huyện Sơn Động 01/2024", "QĐ 27/QĐ-UBND", "KH 2025", "KH", "TA", "1"],
)
def test_the_document_numbers_officials_type_are_references(number: str) -> None:
    assert reference(number) == number


@pytest.mark.parametrize(
    ("typed", "why"),
    [
        ("=1+2", "must be a document number"),
        ("-5", "must be a document number"),
        ("@SUM(A1)", "must be a document number"),
        ("12/QĐ;DROP", "must be a document number"),
        ("Nguyễn Văn Bình", "must include its number"),
        ("QĐ\u202e12", "formatting characters"),
    ],
)
def test_anything_else_is_not_a_reference(typed: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        reference(typed)


def test_full_width_reference_digits_become_ascii() -> None:
    assert reference("１２/QĐ-UBND") == "12/QĐ-UBND"


@pytest.mark.parametrize("cell", ["=1+2", "+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1"])
def test_spreadsheet_cells_that_would_run_get_a_quote(cell: str) -> None:
    assert spreadsheet_cell(cell) == "'" + cell


def test_other_cells_pass_unchanged() -> None:
    assert [spreadsheet_cell(v) for v in ["Huyện Sơn Động", "", -3, 0.5, None]] == ["Huyện Sơn Động", "", -3, 0.5, None]


@pytest.mark.parametrize(
    "typed", ["024090000001", "０２４０９００００００１", "024 090 000 001", "024.090.000.001", "024-090-000-001"]
)
def test_a_citizen_id_has_one_form_whatever_digits_it_was_typed_in(typed: str) -> None:
    assert normalise_citizen_id(typed) == "024090000001"


@pytest.mark.parametrize("typed", ["٠٢٤٠٩٠٠٠٠٠٠١", "02409000000", "0240900000012", "02409000000A", "", None])
def test_what_is_not_12_ascii_digits_is_no_citizen_id(typed: str | None) -> None:
    assert normalise_citizen_id(typed) is None


def _person(**change: str) -> dict[str, str]:
    return {
        "full_name": "Nguyễn Văn An",
        "date_of_birth": "1990-04-12",
        "sex": "male",
        "commune_code": "07616",
        "status": "user",
        "recorded_on": "2024-03-01",
    } | change


def test_new_person_normalises_the_citizen_id_and_refuses_other_scripts() -> None:
    assert NewPerson.model_validate(_person(citizen_id="０２４０９００００００１")).citizen_id == "024090000001"
    with pytest.raises(ValidationError, match="12 digits"):
        NewPerson.model_validate(_person(citizen_id="٠٢٤٠٩٠٠٠٠٠٠١"))


@pytest.mark.parametrize("name", ['=HYPERLINK("x")', "+Nguyễn", "-An", "@An", " =An"])
def test_names_a_spreadsheet_would_run_are_refused(name: str) -> None:
    with pytest.raises(ValidationError, match="must not begin with =, \\+, - or @"):
        NewPerson.model_validate(_person(full_name=name))


def test_a_village_is_free_text() -> None:
    with pytest.raises(ValidationError, match="formatting characters"):
        NewPerson.model_validate(_person(village="Thôn\u202eBiểu"))
    with pytest.raises(ValidationError, match="looks like a citizen id"):
        NewPerson.model_validate(_person(village="Thôn 024090000001"))
