"""Settings read from the environment (prefix REHAB_), with defaults for the local platform."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_JWT_SECRET = "dev-secret-for-local-use-only-change-me"
KAFKA_ADMIN = "admin"


def local_kafka_password(user: str) -> str:
    """The local platform's default Kafka password of `user` (deploy/local/env.sh and services.sh agree)."""
    return f"{user}-local"


class PlatformSettings(BaseSettings):
    """What every process of the system shares: broker, database server, token secret."""

    model_config = SettingsConfigDict(env_prefix="REHAB_", extra="ignore")

    kafka_bootstrap: str = "127.0.0.1:9092"
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "SASL_PLAINTEXT"
    kafka_sasl_mechanism: Literal["SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"] = "SCRAM-SHA-512"
    # The platform's own identity (tools, tests, the topics and ACL job): the admin. Each service logs in as
    # itself through REHAB_<SERVICE>_KAFKA_USERNAME/_PASSWORD (deploy/local/services.sh, the manifests).
    kafka_username: str = KAFKA_ADMIN
    kafka_password: SecretStr = SecretStr(local_kafka_password(KAFKA_ADMIN))
    kafka_ssl_cafile: str | None = None  # the CA that signed the brokers' certificates (SSL, SASL_SSL)
    topic_prefix: str = "rehab"  # topic rehab.X is deployed as <prefix>.X; tests isolate themselves with it
    topic_partitions: int = 6
    topic_replication: int = 1
    topic_min_insync_replicas: int = 2
    pg_host: str = "127.0.0.1"
    pg_port: int = 55432
    pg_database: str = "rehab"
    env: Literal["development", "production"] = "development"  # REHAB_ENV
    jwt_secret: SecretStr = SecretStr(DEV_JWT_SECRET)
    jwt_algorithm: str = "HS256"
    jwt_max_lifetime_hours: float = Field(default=12, gt=0, le=24)  # exp - iat of any token accepted
    # The OpenID Connect issuer whose tokens the services trust (Keycloak's realm URL); production requires it,
    # and development also accepts tokens signed with jwt_secret (`rehab token`)
    oidc_issuer: str | None = None
    oidc_audience: str = "rehab"
    oidc_jwks_uri: str | None = None  # default: Keycloak's <issuer>/protocol/openid-connect/certs
    # A token the issuer signed is also asked about at the issuer (RFC 7662 introspection, as this client) so that
    # a disabled account or a signed-out session stops working within oidc_introspection_seconds; production
    # requires the secret
    oidc_client_id: str = "rehab-services"
    oidc_client_secret: SecretStr | None = None
    oidc_introspection_uri: str | None = None  # default: <issuer>/protocol/openid-connect/token/introspect
    oidc_introspection_seconds: float = Field(default=15, ge=0, le=300)  # how long an answer is reused
    oidc_leeway_seconds: float = Field(default=30, ge=0, le=300)  # clock skew allowed on exp, nbf and iat
    metrics_token: SecretStr | None = None  # production: Prometheus sends it as a bearer token to /metrics
    log_level: str = "INFO"
    log_json: bool = True

    @property
    def kafka_servers(self) -> list[str]:
        """The bootstrap list as a list: FastStream takes a comma-separated string for one host name."""
        return [s.strip() for s in self.kafka_bootstrap.split(",") if s.strip()]

    def topic(self, name: str) -> str:
        """The deployed name of a logical topic (`rehab.cases.events` -> `<prefix>.cases.events`)."""
        return self.topic_prefix + name[len("rehab") :] if name.startswith("rehab.") else name


class ServiceSettings(PlatformSettings):
    """One service's settings: its port, database role and schema, and its kernel tunables.

    Service-specific variables use the prefix REHAB_<SERVICE>_ (e.g. REHAB_CASES_DATABASE_URL).
    """

    service: str = ""
    http_host: str = "127.0.0.1"
    http_port: int = 0
    database_url: str | None = None
    db_user: str | None = None
    db_password: SecretStr | None = None
    db_schema: str | None = None
    db_pool_size: int = 10
    relay_batch_size: int = 500
    relay_idle_seconds: float = 0.1
    consumer_batch_size: int = 500
    consumer_max_attempts: int = Field(default=3, ge=1)

    @classmethod
    def for_service(cls, name: str, default_port: int = 8000, **overrides: object) -> ServiceSettings:
        """Settings for service `name`: REHAB_* shared values, then REHAB_<NAME>_* ones, then overrides."""
        shared = PlatformSettings().model_dump()
        own = _ServiceEnv(_env_prefix=f"REHAB_{name.upper()}_").model_dump(exclude_none=True)
        values: dict[str, object] = {**shared, **own, **overrides}
        values.setdefault("service", name)
        if not values.get("http_port"):
            values["http_port"] = default_port
        return cls.model_validate(values)

    @property
    def schema_name(self) -> str:
        return self.db_schema or self.service

    def dsn(self) -> str:
        """SQLAlchemy URL; REHAB_<SERVICE>_DATABASE_URL wins over the pieces."""
        if self.database_url:
            return self.database_url
        user = self.db_user or self.service
        password = self.db_password.get_secret_value() if self.db_password else user
        return f"postgresql+asyncpg://{user}:{password}@{self.pg_host}:{self.pg_port}/{self.pg_database}"


class _ServiceEnv(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore")

    http_host: str | None = None
    http_port: int | None = None
    database_url: str | None = None
    db_user: str | None = None
    db_password: SecretStr | None = None
    db_schema: str | None = None
    db_pool_size: int | None = None
    kafka_username: str | None = None
    kafka_password: SecretStr | None = None
    relay_batch_size: int | None = None
    consumer_batch_size: int | None = None
    consumer_max_attempts: int | None = None
