"""The registry's own settings (REHAB_REGISTRY_*), beside the ones every service has (ServiceSettings)."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class RegistrySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="REHAB_REGISTRY_", extra="ignore")

    pii_key: SecretStr | None = None  # encrypts names and citizen ids at rest (REHAB_REGISTRY_PII_KEY)
    # citizen-id registrations and searches one account may make (shared by every replica)
    identity_lookups_per_minute: int = Field(default=30, ge=1)
    identity_lookups_per_day: int = Field(default=300, ge=2)
