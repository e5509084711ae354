"""Plan imports check the caller before the file: an auditor froze the quotas service 7.3 s to be told 422.

The bodies here are async generators that record what the service pulled from them: a refusal before the body is
read pulls nothing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from shared.runtime.limits import Limits
from tests.integration.quotas.test_quotas_api import quotas  # noqa: F401  (the module's service fixture)
from tests.support.services import ServiceClient
from tests.unit.hostile_files import empty_cells, xlsx

pytestmark = pytest.mark.integration
IMPORTS = "/api/v1/plans/imports"
BOUNDARY = "b0undary"


def form(file: bytes, **fields: str) -> list[bytes]:
    """A multipart body (fields first, as clients send them) in 64 KiB pieces."""
    parts = [
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode() for k, v in fields.items()
    ]
    head = f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="plan.xlsx"\r\n\r\n'.encode()
    body = b"".join(parts) + head + file + f"\r\n--{BOUNDARY}--\r\n".encode()
    return [body[i : i + 65536] for i in range(0, len(body), 65536)]


async def send(client: ServiceClient, pieces: list[bytes], headers: dict[str, str]) -> tuple[int, str, int]:
    """Status, body and how many pieces of the request body the service read."""
    pulled = 0

    async def body() -> AsyncIterator[bytes]:
        nonlocal pulled
        for piece in pieces:
            pulled += 1
            yield piece

    answer = await client.http.post(
        IMPORTS, content=body(), headers={**headers, "content-type": f"multipart/form-data; boundary={BOUNDARY}"}
    )
    return answer.status_code, answer.text, pulled


@pytest.mark.parametrize("role", ["auditor", "commune_officer", "health_facility", "ops"])
async def test_a_role_that_may_not_write_plans_is_refused_403_without_the_body_being_read(
    quotas: ServiceClient,  # noqa: F811
    role: str,
) -> None:
    heavy = xlsx(empty_cells(20_000, 20))  # the finding's file: seconds of parsing when it was parsed first
    status, text, pulled = await send(quotas, form(heavy, year="2024", unit_code="220"), quotas.auth(role, "220"))
    assert (status, pulled) == (403, 0), text
    assert "may not write plans" in text


async def test_an_appendix_for_a_unit_outside_the_area_is_refused_before_the_file_is_parsed(
    quotas: ServiceClient,  # noqa: F811
) -> None:
    not_a_table = b"PK\x03\x04 this would be a 422 if it were parsed"
    status, text, _ = await send(
        quotas, form(not_a_table, year="2024", unit_code="213"), quotas.auth("district_officer", "220")
    )
    assert status == 403 and "outside your area" in text, text


async def test_a_plan_table_past_a_limit_is_refused_with_a_422_that_names_it(
    quotas: ServiceClient,  # noqa: F811
) -> None:
    limits = Limits()
    rows = "STT,Xã,Số người cai nghiện bắt buộc\n" + "1,An Bá,1\n" * (limits.rows + 1)
    status, text, _ = await send(
        quotas, form(rows.encode(), year="2024", unit_code="220"), quotas.auth("district_officer", "220")
    )
    assert status == 422 and '"limit":{"name":"rows","value":100000}' in text, text
    status, text, _ = await send(quotas, form(b"x" * (limits.upload_bytes + 1)), quotas.auth("district_officer", "220"))
    assert status == 422 and '"name":"upload_bytes"' in text, text
    twice = form(b"x" * (2 * limits.upload_bytes))  # streamed: read (and dropped) to its end, then refused
    status, text, pulled = await send(quotas, twice, quotas.auth("district_officer", "220"))
    assert status == 422 and '"name":"upload_bytes"' in text and pulled == len(twice), text
