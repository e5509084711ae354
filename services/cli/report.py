"""`rehab report ...`, `rehab rebuild` and `rehab status`: the reporting service from a terminal."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any, TextIO

import httpx

from services.cli.login import TOKEN_HELP

URLS = {"registry": 8001, "cases": 8002, "quotas": 8003, "reporting": 8004}


def add_parsers(sub: Any) -> None:
    report = sub.add_parser("report", help="print or save a report")
    report.add_argument("kind", choices=["quota-progress", "coverage", "indicators", "periodic", "outstanding"])
    report.add_argument("--unit", help="GSO code (default: the token's unit)")
    report.add_argument("--year", type=int, help="quota-progress: the plan year (default: this year)")
    report.add_argument("--period", help="2024, 2024-H1 or 2024-H2 (indicators, periodic, coverage)")
    report.add_argument("--as-of", help="YYYY-MM-DD (coverage, indicators, outstanding)")
    report.add_argument("--format", choices=["table", "json", "csv", "xlsx"], default="table")
    report.add_argument("--out", type=Path, help="write to this file instead of the terminal")
    for name in ("rebuild", "status"):
        p = sub.add_parser(
            name,
            help="rebuild the reporting projections"
            if name == "rebuild"
            else "health of the four services and the projections",
        )
        if name == "rebuild":
            p.add_argument("--no-wait", action="store_true", help="start it and return")
    for p in [report, *(sub.choices[n] for n in ("rebuild", "status"))]:
        p.add_argument("--url", default=os.environ.get("REHAB_REPORTING_URL", "http://127.0.0.1:8004"))
        p.add_argument("--token", default=os.environ.get("REHAB_TOKEN"), help=TOKEN_HELP)


def run(args: argparse.Namespace, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    if not args.token:
        print("rehab: no token: pass --token or set REHAB_TOKEN (locally: rehab token --role ... --unit ...)", file=err)
        return 2
    headers = {"Authorization": f"Bearer {args.token}"}
    try:
        with httpx.Client(base_url=args.url, headers=headers, timeout=120) as client:
            if args.command == "report":
                return _report(client, args, out, err)
            if args.command == "rebuild":
                return _rebuild(client, args, out, err)
            return _status(client, args, out)
    except httpx.TransportError as exc:
        print(f"rehab: cannot reach {args.url}: {exc} (is the system up? make up)", file=err)
        return 1


def _report(client: httpx.Client, args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    path = {"coverage": "post-rehab-coverage"}.get(args.kind, args.kind)
    params = {
        k: v
        for k, v in {
            "unit_code": args.unit,
            "year": args.year or (time.localtime().tm_year if args.kind == "quota-progress" else None),
            "period": args.period,
            "as_of": args.as_of,
        }.items()
        if v is not None
    }
    if args.format in ("csv", "xlsx"):
        if args.kind != "periodic":
            print("rehab: csv and xlsx are for the periodic report; use --format json or table", file=err)
            return 2
        params["format"] = args.format
    answer = client.get(f"/api/v1/reports/{path}", params=params)
    if answer.status_code != 200:
        print(f"rehab: {answer.status_code}: {_message(answer)}", file=err)
        return 1
    if args.format in ("csv", "xlsx"):
        target = args.out or Path(
            f"bao-cao-{params.get('unit_code', 'don-vi')}-{params.get('period', 'ky')}.{args.format}"
        )
        target.write_bytes(answer.content)
        print(f"saved {target} ({len(answer.content):,} bytes)", file=out)
        return 0
    text = answer.text if args.format == "json" else _table(args.kind, answer.json())
    if args.out:
        args.out.write_text(text, encoding="utf-8")
        print(f"saved {args.out}", file=out)
    else:
        print(text, file=out)
    return 0


def _table(kind: str, data: dict[str, Any]) -> str:
    lines = [f"{data.get('unit_name', '')} ({data.get('unit_code', '')})"]
    if kind == "quota-progress":
        mods = data["modalities"]
        lines.append(f"{'Đơn vị / unit':<34}" + "".join(f"{m[:20]:>24}" for m in mods))
        for row in [*data["units"], data["total"]]:
            cells = "".join(f"{_q(row, m):>24}" for m in mods)
            lines.append(f"{row['unit_name'][:33]:<34}{cells}")
    elif kind == "coverage":
        lines.append(f"completers {data['completers']}, covered {data['covered']}, ratio {data['ratio']}")
        lines += [
            f"  waiting: case {u['case_id']} ({u['commune_code']}) since {u['completed_on']}, {u['days_waiting']} days"
            for u in data["uncovered"]
        ]
    elif kind in ("indicators", "periodic"):
        for i in data["indicators"]:
            target = f"{i['target']['comparison']} {i['target']['value']:g}" if i["target"] else ""
            lines.append(f"  {i['indicator']:<58} {i['value']!s:>8}  {target:>8}  {i['status'] or ''}")
    else:
        for key, items in data.items():
            if isinstance(items, list):
                lines.append(f"  {key}: {len(items)}")
    return "\n".join(lines)


def _q(row: dict[str, Any], m: str) -> str:
    quota, achieved = row["quota"].get(m), row["achieved"].get(m)
    return f"{achieved}/{'-' if quota is None else quota}"


def _rebuild(client: httpx.Client, args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    answer = client.post("/api/v1/projections/rebuild")
    if answer.status_code != 202:
        print(f"rehab: {answer.status_code}: {_message(answer)}", file=err)
        return 1
    generation = answer.json()["generation"]
    print(f"rebuilding into generation {generation}", file=out)
    while not args.no_wait:
        status = client.get("/api/v1/projections/status").json()
        progress = status.get("rebuild_progress") or {}
        print(f"\r  {progress.get('state', '?'):<10} {progress.get('applied', 0):>10,} events", end="", file=err)
        err.flush()
        if status["state"] == "live" and progress.get("state") in ("done", "failed"):
            print(file=err)
            print(
                f"{progress['state']}: generation {status['generation']}, {progress.get('applied', 0):,} events"
                f" in {progress.get('seconds', '?')} s",
                file=out,
            )
            return 0 if progress["state"] == "done" else 1
        time.sleep(0.5)
    return 0


def _status(client: httpx.Client, args: argparse.Namespace, out: TextIO) -> int:
    base = httpx.URL(args.url)
    healthy = True
    for name, port in URLS.items():
        url = base.copy_with(port=port) if base.port in URLS.values() else base
        try:
            ready = httpx.get(str(url.join("/health/ready")), timeout=5)
            state = ready.json().get("status", ready.status_code)
        except httpx.HTTPError as exc:
            state, healthy = f"down ({type(exc).__name__})", False
        healthy = healthy and state == "ready"
        print(f"  {name:<10} {state}", file=out)
    answer = client.get("/api/v1/projections/status")
    if answer.status_code == 200:
        status = answer.json()
        lag = sum(p["lag"] for p in status["partitions"])
        print(f"  projections generation {status['generation']} ({status['state']}), consumer lag {lag}", file=out)
        for source in status["applied_by_source"]:
            print(f"    {source['source']:<9} {source['events']:>9,} events, last {source['last_event_at']}", file=out)
    else:
        print(f"  projections: {answer.status_code} {_message(answer)} (needs an ops token)", file=out)
    return 0 if healthy else 1


def _message(answer: httpx.Response) -> str:
    try:
        return str(answer.json()["error"]["message"])
    except (ValueError, KeyError, TypeError):
        return answer.text[:200]
