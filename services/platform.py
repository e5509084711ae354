"""`python -m services.platform kafka|topics|access|password`: the platform steps (and the deploy job).

- kafka: wait until a broker answers with these credentials (a login refused for 5 s ends the wait);
- topics: create the topics and their dead-letter topics;
- access: create or update each service's Kafka user and converge their ACLs (shared/runtime/kafka_access.py);
- password --user NAME: set NAME's password to the one read from standard input (rotation);
- accounts: the identity provider's demo accounts (services/identity.py), printed and written to --accounts.

deploy/local/kafka.sh gives a local broker's admin its SCRAM password with `password`, logged in with PLAIN
on the broker's ADMIN listener (server.properties.in says why).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import time
from pathlib import Path

import httpx
from aiokafka.errors import KafkaError
from confluent_kafka import KafkaException

from services.identity import KeycloakAdmin, KeycloakError, ensure_demo_accounts
from services.topology import EVERY_TOPIC, GRANTS
from shared.base.settings import PlatformSettings
from shared.kernel.kafka import ensure_topics, kafka_problem
from shared.runtime.kafka_access import AccessError, apply_access
from shared.runtime.kafka_admin import LIBRDKAFKA_LOG, admin_client, set_passwords

REFUSED_FOR = 5.0  # a password just set reaches the broker's credential cache a moment later


async def wait_kafka(settings: PlatformSettings, timeout: float) -> str | None:
    """None once Kafka answers, else the last problem: when `timeout` is up, or after 5 s of refused logins."""
    start, refused_since = time.monotonic(), None
    while (problem := await kafka_problem(settings, timeout=3)) is not None:
        now = time.monotonic()
        refused_since = (refused_since or now) if _refused(problem) else None
        if now - start > timeout or (refused_since is not None and now - refused_since > REFUSED_FOR):
            return problem
        await asyncio.sleep(1)
    return None


def main(argv: list[str] | None = None) -> int:
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)  # the step's one line says what failed
    LIBRDKAFKA_LOG.setLevel(logging.CRITICAL)
    parser = argparse.ArgumentParser(prog="python -m services.platform")
    parser.add_argument("steps", nargs="+", choices=["kafka", "topics", "access", "password", "accounts"])
    parser.add_argument("--timeout", type=float, default=60)
    parser.add_argument("--user", help="password: the Kafka user whose password is read from standard input")
    parser.add_argument(
        "--accounts", type=Path, default=Path(".local/demo-accounts.json"), help="accounts: where to write them"
    )
    args = parser.parse_args(argv)
    settings = PlatformSettings()
    try:
        for step in args.steps:
            _run(step, args, settings)
    except KafkaException as exc:  # its KafkaError says which broker and why
        print(f"{step}: {exc.args[0].str() if exc.args else exc}", file=sys.stderr)
        return 1
    except (AccessError, KafkaError, KeycloakError, httpx.HTTPError, OSError) as exc:
        print(f"{step}: {exc}", file=sys.stderr)
        return 1
    return 0


def _run(step: str, args: argparse.Namespace, settings: PlatformSettings) -> None:
    who = f"{settings.kafka_bootstrap} as {settings.kafka_username}"
    if step == "kafka":
        problem = asyncio.run(wait_kafka(settings, args.timeout))
        if problem is not None:
            raise AccessError(f"Kafka at {who} refused or did not answer within {args.timeout:.0f}s: {problem}")
        print(f"Kafka answers metadata requests at {who}")
    elif step == "topics":
        topics = [settings.topic(t) for t in EVERY_TOPIC]
        asyncio.run(ensure_topics(settings, topics))
        print(f"topics ready: {', '.join(topics)} (+ .dlq)")
    elif step == "access":
        changed = apply_access(GRANTS, settings)
        print(f"Kafka users and ACLs ready ({changed['added']} ACLs added, {changed['removed']} removed)")
    elif step == "password":
        if not args.user:
            raise AccessError("password needs --user NAME (and the new password on standard input)")
        password = sys.stdin.readline().rstrip("\n")
        if len(password) < 8:
            raise AccessError("the new password must have at least 8 characters")
        set_passwords(admin_client(settings), {args.user: password}, settings)
        print(f"password of Kafka user {args.user} set")
    elif step == "accounts":
        with KeycloakAdmin() as admin:
            accounts = ensure_demo_accounts(admin, args.accounts)
        print(f"demo accounts of realm {admin.settings.realm} ({admin.settings.url}), also in {args.accounts}:")
        for a in accounts:
            print(f"  {a['username']:<20} {a['password']:<18} {a['role']:<17} {a['unit']}")


def _refused(problem: str) -> bool:
    return "SaslAuthenticationFailed" in problem


if __name__ == "__main__":
    sys.exit(main())
