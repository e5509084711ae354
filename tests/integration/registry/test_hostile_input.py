"""Issue 14, findings 4 and 8 on the registry: citizen ids in other digits, names a spreadsheet would run.

Before: '０２４…' (full-width) passed `^\\d{12}$`, registered a second person for a known id (201) and could not be
found by the ASCII id; Arabic-Indic digits passed too; names beginning with =, +, -, @ were stored as typed.
"""

from __future__ import annotations

import pytest

from tests.integration.registry.conftest import TAY_YEN_TU, person
from tests.support.services import ServiceClient

pytestmark = pytest.mark.integration
FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


async def test_a_full_width_citizen_id_is_the_ascii_id_and_a_duplicate(registry: ServiceClient) -> None:
    officer = registry.auth("commune_officer", TAY_YEN_TU)
    first = await registry.http.post("/api/v1/persons", json=person(citizen_id="024090000314"), headers=officer)
    assert first.status_code == 201, first.text
    again = await registry.http.post(
        "/api/v1/persons",
        json=person(full_name="Nguyễn Văn Ân", citizen_id="024090000314".translate(FULL_WIDTH)),
        headers=officer,
    )
    assert again.status_code == 409, again.text
    assert again.json()["error"]["person_id"] == first.json()["person_id"]


async def test_a_full_width_citizen_id_is_stored_as_ascii_digits(registry: ServiceClient) -> None:
    officer = registry.auth("commune_officer", TAY_YEN_TU)
    body = person(full_name="Lý Văn Tám", citizen_id="024 090 000 315".translate(FULL_WIDTH))
    created = await registry.http.post("/api/v1/persons", json=body, headers=officer)
    assert created.status_code == 201, created.text
    file = (await registry.http.get(f"/api/v1/persons/{created.json()['person_id']}", headers=officer)).json()
    assert file["citizen_id"] == "024090000315"
    ascii_again = await registry.http.post(
        "/api/v1/persons", json=person(full_name="Lý Văn Tám", citizen_id="024090000315"), headers=officer
    )
    assert ascii_again.status_code == 409, ascii_again.text


async def test_citizen_ids_in_other_digits_are_refused(registry: ServiceClient) -> None:
    officer = registry.auth("commune_officer", TAY_YEN_TU)
    body = person(full_name="Đinh Văn Chín", citizen_id="024090000316".translate(ARABIC_INDIC))
    refused = await registry.http.post("/api/v1/persons", json=body, headers=officer)
    assert refused.status_code == 422 and "12 digits 0-9" in refused.json()["error"]["fields"]["citizen_id"]


@pytest.mark.parametrize("name", ['=HYPERLINK("http://x","An")', "+Nguyễn Văn An", "-Nguyễn Văn An", "@Nguyễn Văn An"])
async def test_names_a_spreadsheet_would_run_are_refused(registry: ServiceClient, name: str) -> None:
    officer = registry.auth("commune_officer", TAY_YEN_TU)
    refused = await registry.http.post("/api/v1/persons", json=person(full_name=name), headers=officer)
    assert refused.status_code == 422, refused.text
    assert "must not begin with =, +, - or @" in refused.json()["error"]["fields"]["full_name"]


async def test_hidden_characters_in_a_name_or_village_are_refused(registry: ServiceClient) -> None:
    officer = registry.auth("commune_officer", TAY_YEN_TU)
    for body, field in (
        (person(full_name="Nguyễn\u202eVăn An"), "full_name"),
        (person(village="Thôn\u200b"), "village"),
    ):
        refused = await registry.http.post("/api/v1/persons", json=body, headers=officer)
        assert refused.status_code == 422 and "formatting characters" in refused.json()["error"]["fields"][field]
