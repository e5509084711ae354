"""Production mode: no development secret, and /metrics (per-unit counts) answers only Prometheus' token."""

from __future__ import annotations

import httpx
import pytest
from pydantic import SecretStr

from services.quotas.app import spec
from shared.base.settings import ServiceSettings
from shared.runtime.service import accepted_correlation_id, create_app


def settings(**overrides: object) -> ServiceSettings:
    return ServiceSettings.for_service("quotas", **overrides)


PRODUCTION = {
    "env": "production",
    "oidc_issuer": "https://id.example.gov.vn/realms/rehab",
    "oidc_client_secret": SecretStr("s" * 32),
    "metrics_token": SecretStr("m" * 32),
    "kafka_username": "quotas",
    "kafka_password": SecretStr("q" * 24),
    "kafka_security_protocol": "SASL_SSL",
}


def test_production_refuses_to_start_without_an_issuer_or_without_a_metrics_token() -> None:
    with pytest.raises(SystemExit, match="REHAB_OIDC_ISSUER"):
        create_app(spec(), settings(**{**PRODUCTION, "oidc_issuer": None}))
    with pytest.raises(SystemExit, match="REHAB_OIDC_CLIENT_SECRET"):
        create_app(spec(), settings(**{**PRODUCTION, "oidc_client_secret": None}))
    with pytest.raises(SystemExit, match="REHAB_METRICS_TOKEN"):
        create_app(spec(), settings(**{**PRODUCTION, "metrics_token": None}))
    with pytest.raises(SystemExit, match="not as the admin"):
        create_app(spec(), settings(**{**PRODUCTION, "kafka_username": "admin"}))
    with pytest.raises(SystemExit, match="local default"):
        create_app(spec(), settings(**{**PRODUCTION, "kafka_password": SecretStr("quotas-local")}))
    with pytest.raises(SystemExit, match="SASL_SSL"):
        create_app(spec(), settings(**{**PRODUCTION, "kafka_security_protocol": "SASL_PLAINTEXT"}))


async def test_metrics_need_the_token_in_production_and_are_open_in_development() -> None:
    prod = create_app(spec(), settings(**PRODUCTION))
    dev = create_app(spec(), settings())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=prod), base_url="http://quotas") as http:
        assert (await http.get("/metrics")).status_code == 401
        assert (await http.get("/metrics", headers={"Authorization": "Bearer wrong"})).status_code == 401
        answer = await http.get("/metrics", headers={"Authorization": "Bearer " + "m" * 32})
        assert answer.status_code == 200 and "python_info" in answer.text
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=dev), base_url="http://quotas") as http:
        assert (await http.get("/metrics")).status_code == 200


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("0192f0c1-7d4e-7cc0-8a3e-5b1f2a3c4d5e", True),
        ("web:req-42", True),
        ("x" * 8000, False),  # 8,000 characters were stored as sent
        ("a b", False),
        ("id\r\nSet-Cookie: x", False),
        ("", False),
        (None, False),
    ],
)
def test_correlation_ids_are_kept_only_when_short_and_plain(sent: str | None, kept: bool) -> None:
    got = accepted_correlation_id(sent)
    assert (got == sent) is kept
    assert len(got) <= 64
