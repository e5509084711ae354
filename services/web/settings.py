"""The web app's settings (REHAB_WEB_*): where the browser reaches it, the identity provider, the four services."""

from __future__ import annotations

from typing import Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.topology import PORTS

LOCAL_CLIENT_SECRET = "rehab-web-local"  # the realm file's local default (deploy/keycloak/rehab-realm.json)


def _local(service: str) -> str:
    return f"http://127.0.0.1:{PORTS[service]}"


class WebSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="REHAB_WEB_", extra="ignore", populate_by_name=True)

    env: Literal["development", "production"] = Field(
        default="development", validation_alias=AliasChoices("REHAB_WEB_ENV", "REHAB_ENV")
    )
    http_host: str = "127.0.0.1"
    http_port: int = 8000
    public_url: str = "http://127.0.0.1:8000"  # where browsers reach the app; the sign-in callback is under it
    oidc_issuer: str = Field(
        default="http://127.0.0.1:8080/realms/rehab",
        validation_alias=AliasChoices("REHAB_WEB_OIDC_ISSUER", "REHAB_OIDC_ISSUER"),
    )
    # where the app itself reaches the realm (a cluster-internal address); the issuer's when unset. Keycloak then
    # names its back-channel endpoints (token, end of session) there and its login page at the browsers' address
    oidc_internal_url: str | None = None
    oidc_client_id: str = "rehab-web"
    oidc_client_secret: SecretStr = SecretStr(LOCAL_CLIENT_SECRET)
    registry_url: str = _local("registry")
    cases_url: str = _local("cases")
    quotas_url: str = _local("quotas")
    reporting_url: str = _local("reporting")
    api_timeout_seconds: float = Field(default=15, gt=0, le=120)
    session_idle_minutes: float = Field(default=30, gt=0, le=24 * 60)  # Keycloak's SSO idle time agrees
    session_max_hours: float = Field(default=12, gt=0, le=24)
    max_sessions: int = Field(default=20_000, ge=1)
    upload_max_mb: int = Field(default=20, ge=1, le=200)
    metrics_token: SecretStr | None = Field(default=None, validation_alias=AliasChoices("REHAB_METRICS_TOKEN"))
    log_level: str = Field(default="INFO", validation_alias=AliasChoices("REHAB_WEB_LOG_LEVEL", "REHAB_LOG_LEVEL"))
    log_json: bool = Field(default=True, validation_alias=AliasChoices("REHAB_WEB_LOG_JSON", "REHAB_LOG_JSON"))

    @property
    def production(self) -> bool:
        return self.env == "production"

    @property
    def session_cookie(self) -> str:
        """Over https the cookie is host-only, Secure and for the whole site (the __Host- prefix makes browsers
        refuse one planted by a neighbouring subdomain)."""
        return "__Host-rehab_session" if self.production else "rehab_session"

    @property
    def callback_url(self) -> str:
        return self.public_url.rstrip("/") + "/auth/callback"

    def service_url(self, service: str) -> str:
        urls = {"registry": self.registry_url, "cases": self.cases_url, "quotas": self.quotas_url}
        return {**urls, "reporting": self.reporting_url}[service]

    def check_production(self) -> None:
        """Production refuses the local defaults: a real client secret, an https address (Secure cookies)."""
        if not self.production:
            return
        if self.oidc_client_secret.get_secret_value() == LOCAL_CLIENT_SECRET:
            raise SystemExit("REHAB_WEB_OIDC_CLIENT_SECRET must be set in production (the realm's rehab-web secret)")
        if not self.public_url.startswith("https://"):
            raise SystemExit("REHAB_WEB_PUBLIC_URL must be an https:// address in production")
        if self.metrics_token is None:
            raise SystemExit("REHAB_METRICS_TOKEN must be set in production (Prometheus sends it to /metrics)")
