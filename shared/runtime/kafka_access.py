"""Who may do what on Kafka: one SCRAM user per service, and ACLs that let each one write only its topic.

A service writes its own topic and the dead-letter topics of the topics it consumes (a consumer parks a poison
message in `<topic>.dlq`, shared/kernel/consumer.py), reads only what it consumes, and joins only consumer groups
named after itself (its subscriptions, shared/kernel/subscriber.py). Nothing else is granted: the broker runs with
`allow.everyone.if.no.acl.found=false`, and the admin, a super user, is for the platform's tools and tests.
`apply_access` converges the cluster on a table of grants (the system's is in services/topology.py): missing
ACLs are added, others of these users removed.
The calls that make users and ACLs are in shared/runtime/kafka_admin.py; like them, `apply_access` is synchronous.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass

from confluent_kafka.admin import AclBinding, AclOperation, AclPermissionType, ResourcePatternType, ResourceType
from pydantic import SecretStr

from shared.base.settings import PlatformSettings, _ServiceEnv, local_kafka_password
from shared.kernel.kafka import dlq_topic
from shared.runtime.kafka_admin import acls_of, admin_client, create_acls, delete_acls, set_passwords

TOPIC, GROUP = ResourceType.TOPIC, ResourceType.GROUP
LITERAL, PREFIXED = ResourcePatternType.LITERAL, ResourcePatternType.PREFIXED
READ, WRITE, DESCRIBE = AclOperation.READ, AclOperation.WRITE, AclOperation.DESCRIBE  # READ, WRITE imply DESCRIBE
ALLOW = AclPermissionType.ALLOW

Permission = tuple[ResourceType, ResourcePatternType, str, AclOperation]


@dataclass(frozen=True)
class Grant:
    """What one service does on Kafka: the topic its relay writes and the topics its subscribers read."""

    service: str
    topic: str | None
    reads: tuple[str, ...]

    @property
    def group_prefix(self) -> str:
        return f"{self.service}-"  # every subscription (and so consumer group) is named <service>-...


class AccessError(Exception):
    """The access table cannot be applied as configured; the message says which setting to fix."""


def kafka_user(service: str) -> tuple[str, SecretStr | None]:
    """The service's Kafka user and password as the service itself reads them (REHAB_<SERVICE>_KAFKA_*)."""
    own = _ServiceEnv(_env_prefix=f"REHAB_{service.upper()}_")
    return own.kafka_username or service, own.kafka_password


def permissions(grant: Grant, settings: PlatformSettings) -> list[Permission]:
    """(resource type, pattern type, name, operation) for `grant`, with the deployment's topic names."""
    wanted: list[Permission] = []
    if grant.topic:
        topic = settings.topic(grant.topic)
        wanted += [(TOPIC, LITERAL, topic, WRITE), (TOPIC, LITERAL, dlq_topic(topic), DESCRIBE)]
    for read in grant.reads:
        topic = settings.topic(read)
        wanted += [(TOPIC, LITERAL, topic, READ), (TOPIC, LITERAL, dlq_topic(topic), WRITE)]
    return [*wanted, (GROUP, PREFIXED, grant.group_prefix, READ)]


def bindings_of(grant: Grant, principal: str, settings: PlatformSettings) -> set[AclBinding]:
    """The ACLs `grant` gives `principal` (from any host)."""
    wanted = permissions(grant, settings)
    return {AclBinding(kind, name, pattern, principal, "*", op, ALLOW) for kind, pattern, name, op in wanted}


def is_local(settings: PlatformSettings) -> bool:
    """A development platform on this machine: the only place the local default passwords may be set."""
    hosts = [s.rpartition(":")[0].strip("[]") for s in settings.kafka_servers]
    return settings.env == "development" and all(h == "localhost" or _loopback(h) for h in hosts)


def service_passwords(grants: Sequence[Grant], settings: PlatformSettings) -> dict[str, str]:
    """User -> password of every service; a missing password is an error except on a local platform."""
    users = {}
    for grant in grants:
        user, password = kafka_user(grant.service)
        if password is None and not is_local(settings):
            raise AccessError(
                f"REHAB_{grant.service.upper()}_KAFKA_PASSWORD is not set: give every service its own password "
                "(the local default is only for a development broker on this machine)"
            )
        users[user] = password.get_secret_value() if password else local_kafka_password(grant.service)
    return users


def apply_access(grants: Sequence[Grant], settings: PlatformSettings) -> dict[str, int]:
    """Create or update the service users and converge their ACLs; returns ACLs added and removed."""
    users, admin = service_passwords(grants, settings), admin_client(settings)
    set_passwords(admin, users, settings)
    added = removed = 0
    for grant in grants:
        principal = f"User:{kafka_user(grant.service)[0]}"
        wanted, present = bindings_of(grant, principal, settings), acls_of(admin, principal)
        create_acls(admin, wanted - present)
        delete_acls(admin, present - wanted)
        added, removed = added + len(wanted - present), removed + len(present - wanted)
    return {"added": added, "removed": removed}


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
