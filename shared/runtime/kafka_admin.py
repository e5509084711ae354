"""The Kafka admin calls aiokafka has no method for: SCRAM users and ACLs, through confluent-kafka's AdminClient.

Synchronous, with futures: it serves the platform steps (python -m services.platform) and tests, and async code
runs it in a thread. librdkafka retries a refused login until a request times out, so the waits here serve its
error callback and stop at once, with the broker's reason, when the login is refused or no broker answers.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from concurrent.futures import Future
from typing import Any

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import (
    AclBinding,
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    AdminClient,
    ResourcePatternType,
    ResourceType,
    ScramCredentialInfo,
    ScramMechanism,
    UserScramCredentialAlteration,
    UserScramCredentialDeletion,
    UserScramCredentialUpsertion,
)

from shared.base.settings import PlatformSettings

TIMEOUT = 15.0  # seconds for one admin request
SCRAM_ITERATIONS = 8192  # Kafka accepts 4096..16384; each login pays this many rounds of HMAC
LIBRDKAFKA_LOG = logging.getLogger("rehab.librdkafka")  # its line per failed attempt goes here, not to stderr
_FATAL = (KafkaError._AUTHENTICATION, KafkaError._ALL_BROKERS_DOWN)


def admin_client(settings: PlatformSettings) -> AdminClient:
    """An admin client logged in as the settings' user (the settings under librdkafka's names)."""
    config: dict[str, Any] = {
        "bootstrap.servers": ",".join(settings.kafka_servers),
        "security.protocol": settings.kafka_security_protocol,
        "client.id": "rehab-admin",
        "error_cb": _raise_fatal,
        "logger": LIBRDKAFKA_LOG,
    }
    if settings.kafka_security_protocol.startswith("SASL_"):
        config |= {
            "sasl.mechanism": settings.kafka_sasl_mechanism,
            "sasl.username": settings.kafka_username,
            "sasl.password": settings.kafka_password.get_secret_value(),
        }
    if settings.kafka_ssl_cafile:
        config["ssl.ca.location"] = settings.kafka_ssl_cafile
    return AdminClient(config)


def acls_of(admin: AdminClient, principal: str) -> set[AclBinding]:
    """Every ACL that names `principal`."""
    anything: Any = None  # matches any name and host (the library's type hints say str, its documentation None)
    every = AclBindingFilter(
        ResourceType.ANY,
        anything,
        ResourcePatternType.ANY,
        principal,
        anything,
        AclOperation.ANY,
        AclPermissionType.ANY,
    )
    acls: list[AclBinding] = _wait(admin, [admin.describe_acls(every, request_timeout=TIMEOUT)])[0]
    return set(acls)


def create_acls(admin: AdminClient, acls: Iterable[AclBinding]) -> None:
    """Add `acls` (adding one that exists is no error)."""
    if acls := sorted(acls):
        _wait(admin, admin.create_acls(acls, request_timeout=TIMEOUT).values())


def delete_acls(admin: AdminClient, acls: Iterable[AclBinding]) -> None:
    """Remove exactly `acls`: each filter names every field of one ACL."""
    filters = [
        AclBindingFilter(
            a.restype, a.name, a.resource_pattern_type, a.principal, a.host, a.operation, a.permission_type
        )
        for a in sorted(acls)
    ]
    if filters:
        _wait(admin, admin.delete_acls(filters, request_timeout=TIMEOUT).values())


def set_passwords(admin: AdminClient, users: dict[str, str], settings: PlatformSettings) -> None:
    """Create each user or change its password (SCRAM): the broker keeps only a salted hash."""
    info = ScramCredentialInfo(scram_mechanism(settings), SCRAM_ITERATIONS)
    upserts: list[UserScramCredentialAlteration] = [
        UserScramCredentialUpsertion(user, info, password.encode()) for user, password in users.items()
    ]
    _wait(admin, admin.alter_user_scram_credentials(upserts, request_timeout=TIMEOUT).values())


def delete_users(admin: AdminClient, users: Iterable[str], settings: PlatformSettings) -> None:
    """Remove the users' SCRAM credential: they can no longer log in."""
    mechanism = scram_mechanism(settings)
    deletions: list[UserScramCredentialAlteration] = [UserScramCredentialDeletion(u, mechanism) for u in users]
    if deletions:
        _wait(admin, admin.alter_user_scram_credentials(deletions, request_timeout=TIMEOUT).values())


def scram_mechanism(settings: PlatformSettings) -> ScramMechanism:
    """The mechanism users are given: the one clients log in with, SCRAM-SHA-512 when that is not SCRAM."""
    name = settings.kafka_sasl_mechanism.replace("-", "_")
    return ScramMechanism[name] if name.startswith("SCRAM_") else ScramMechanism.SCRAM_SHA_512


def _wait(admin: AdminClient, futures: Iterable[Future[Any]]) -> list[Any]:
    results = []
    for future in futures:
        while not future.done():
            admin.poll(0.1)  # serves the error callback, which raises a refused login at once
        results.append(future.result())  # raises the broker's refusal as KafkaException
    return results


def _raise_fatal(error: KafkaError) -> None:
    if error.code() in _FATAL:
        raise KafkaException(error)
