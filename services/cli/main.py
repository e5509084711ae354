"""The `rehab` command line: login, logout, whoami, token, import persons|plans, report, rebuild, status, dlq."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import timedelta

from aiokafka.errors import KafkaError

from services.cli import imports as cli_import
from services.cli import login as cli_login
from services.cli import report as cli_report
from services.topology import ALL_TOPICS
from shared.base.settings import PlatformSettings
from shared.kernel.dlq import list_parked, replay
from shared.runtime.auth import Role, TokenCodec
from shared.vn.units import NATIONAL, UnknownUnitError, admin_units


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="rehab", description="Rehab tracking system tools")
    sub = parser.add_subparsers(dest="command", required=True)
    tok = sub.add_parser("token", help="print a signed token for local use")
    tok.add_argument("--role", required=True, choices=[r.value for r in Role])
    tok.add_argument("--unit", required=True, help="GSO code of the caller's unit (VN for national)")
    tok.add_argument("--sub", default=None, help="subject (user id); defaults to role@unit")
    tok.add_argument("--hours", type=float, default=12)
    cli_login.add_parsers(sub)
    cli_import.add_parser(sub)
    cli_report.add_parsers(sub)
    dlq = sub.add_parser("dlq", help="dead-letter topics: list what is parked, replay it after a fix")
    dlq.add_argument("action", choices=["list", "replay"])
    dlq.add_argument("--topic", action="append", help="rehab.registry.events etc. (default: all three)")
    args = parser.parse_args(argv)
    if args.command in ("login", "logout", "whoami"):
        return cli_login.run(args)
    if getattr(args, "token", "") is None:  # neither --token nor REHAB_TOKEN: the sign-in of `rehab login`
        args.token = cli_login.current_token()
        if args.token is None:
            return 2
    if args.command == "dlq":
        return _dlq(args.action, args.topic or list(ALL_TOPICS))
    if args.command == "import":
        return cli_import.run(args)
    if args.command in ("report", "rebuild", "status"):
        return cli_report.run(args)
    if args.command == "token":
        if args.unit != NATIONAL and not admin_units().exists(args.unit):
            print(
                f"rehab: {UnknownUnitError(args.unit).args[0]}: give a GSO code such as 220 or 07616", file=sys.stderr
            )
            return 2
        settings = PlatformSettings()
        if not 0 < args.hours <= settings.jwt_max_lifetime_hours:
            print(f"rehab: --hours must be between 0 and {settings.jwt_max_lifetime_hours:g}", file=sys.stderr)
            return 2
        codec = TokenCodec(settings.jwt_secret.get_secret_value(), settings.jwt_algorithm)
        print(codec.issue(args.sub or f"{args.role}@{args.unit}", args.role, args.unit, timedelta(hours=args.hours)))
    return 0


def _dlq(action: str, topics: list[str]) -> int:
    settings = PlatformSettings()
    try:
        for topic in (settings.topic(t) for t in topics):
            if action == "replay":
                sent = asyncio.run(replay(settings, topic))
                print(f"{topic}: {sent} message(s) replayed from {topic}.dlq")
                continue
            parked = asyncio.run(list_parked(settings, topic))
            waiting = [p for p in parked if not p.replayed]
            print(f"{topic}.dlq: {len(parked)} message(s), {len(waiting)} not replayed")
            for p in waiting:
                print(f"  {p.partition}:{p.offset} consumer {p.consumer}: {p.error[:150]}")
    except KafkaError as exc:
        print(f"rehab: Kafka at {settings.kafka_bootstrap} failed: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
