"""The cases service's own settings (REHAB_CASES_*), beside the ones every service has (ServiceSettings)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class CasesSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="REHAB_CASES_", extra="ignore")

    # how long a command sent with Rehab-After waits for the directory to reach the registry write it names
    read_your_writes_seconds: float = Field(default=5, ge=0, le=30)
