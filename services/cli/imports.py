"""`rehab import persons FILE`: upload a police review list to the registry and follow it to the end."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any, TextIO

import httpx

from services.cli.login import TOKEN_HELP


def add_parser(sub: Any) -> None:
    imp = sub.add_parser("import", help="import a list into a service")
    kinds = imp.add_subparsers(dest="kind", required=True)
    persons = kinds.add_parser("persons", help="a police review list (CSV or XLSX) into the registry")
    persons.add_argument("file", type=Path)
    persons.add_argument("--recorded-on", help="legal date of the list (YYYY-MM-DD); default today")
    persons.add_argument(
        "--source", default="police_review", choices=["police_review", "self_report", "health_referral"]
    )
    persons.add_argument("--url", default=os.environ.get("REHAB_REGISTRY_URL", "http://127.0.0.1:8001"))
    persons.add_argument("--token", default=os.environ.get("REHAB_TOKEN"), help=TOKEN_HELP)

    plans = kinds.add_parser("plans", help="a plan table (appendix, codes or indicators file) into the quotas service")
    plans.add_argument("file", type=Path)
    plans.add_argument("--year", type=int, help="for an appendix: the plan's year")
    plans.add_argument("--unit", help="for an appendix: the code of the unit that issued it (e.g. 220)")
    plans.add_argument("--document", help="number of the issuing document (default: the file's name)")
    plans.add_argument("--document-date", help="date of the document (YYYY-MM-DD)")
    plans.add_argument("--url", default=os.environ.get("REHAB_QUOTAS_URL", "http://127.0.0.1:8003"))
    plans.add_argument("--token", default=os.environ.get("REHAB_TOKEN"), help=TOKEN_HELP)


def run(args: argparse.Namespace, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    if args.kind == "plans":
        return run_plans(args, out, err)
    if not args.token:
        print("rehab: no token: pass --token or set REHAB_TOKEN (locally: rehab token --role ... --unit ...)", file=err)
        return 2
    if not args.file.is_file():
        print(f"rehab: no such file: {args.file}", file=err)
        return 2
    headers = {"Authorization": f"Bearer {args.token}"}
    data = {"source": args.source} | ({"recorded_on": args.recorded_on} if args.recorded_on else {})
    try:
        with httpx.Client(base_url=args.url, headers=headers, timeout=120) as client:
            with args.file.open("rb") as handle:
                response = client.post("/api/v1/persons/imports", files={"file": (args.file.name, handle)}, data=data)
            if response.status_code != 202:
                print(f"rehab: the registry refused the file: {_message(response)}", file=err)
                return 1
            report = _follow(client, response.json()["import_id"], err)
    except httpx.TransportError as exc:
        print(f"rehab: cannot reach the registry at {args.url}: {exc}", file=err)
        return 1
    _summary(report, out)
    return 0 if report["status"] == "done" else 1


def _follow(client: httpx.Client, import_id: str, err: TextIO) -> dict[str, Any]:
    """Poll the import, drawing a progress bar, until it has finished."""
    while True:
        report: dict[str, Any] = client.get(f"/api/v1/persons/imports/{import_id}").raise_for_status().json()
        done, total = int(report["processed"]), max(int(report["total"] or 0), 1)
        filled = 30 * done // total
        end = "\n" if report["status"] in ("done", "failed") else ""
        print(
            f"\r[{'#' * filled}{'.' * (30 - filled)}] {done}/{total} rows ({100 * done // total}%)", end=end, file=err
        )
        err.flush()
        if end:
            return report
        time.sleep(0.5)


def _summary(report: dict[str, Any], out: TextIO) -> None:
    print(f"Import {report['import_id']} ({report['filename']}): {report['status']}", file=out)
    if report.get("error"):
        print(f"  error: {report['error']}", file=out)
    rows = [
        ("Tổng số dòng / rows", report["total"]),
        ("Đã tạo / created", report["created"]),
        ("Trùng / duplicates", report["duplicates"]),
        ("Bị từ chối / rejected", len(report["rejected"])),
        ("Nghi trùng / likely duplicates", len(report["likely_duplicates"])),
    ]
    for label, value in rows:
        print(f"  {label:<32} {value}", file=out)
    for rejected in report["rejected"]:
        reasons = "; ".join(f"{field}: {why}" for field, why in rejected["errors"].items())
        print(f"  dòng {rejected['row']}: {reasons}", file=out)
    for flagged in report["likely_duplicates"]:
        print(f"  dòng {flagged['row']}: nghi trùng với {', '.join(flagged['likely_duplicates'])}", file=out)


def _message(response: httpx.Response) -> str:
    try:
        error = response.json()["error"]
        fields = "; ".join(f"{name}: {text}" for name, text in (error.get("fields") or {}).items())
        return f"{error['message']} ({fields})" if fields else str(error["message"])
    except (ValueError, KeyError, TypeError, AttributeError):
        return f"HTTP {response.status_code}"


def run_plans(args: argparse.Namespace, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    """Upload a plan table; print what was created, revised or left unchanged, and the rows refused."""
    if not args.token or not args.file.is_file():
        print("rehab: need --token (or REHAB_TOKEN) and an existing file", file=err)
        return 2
    form = {
        k: str(v)
        for k, v in {
            "year": args.year,
            "unit_code": args.unit,
            "document_number": args.document,
            "document_date": args.document_date,
        }.items()
        if v is not None
    }
    try:
        auth = {"Authorization": f"Bearer {args.token}"}
        with httpx.Client(base_url=args.url, headers=auth, timeout=120) as client, args.file.open("rb") as handle:
            answer = client.post("/api/v1/plans/imports", files={"file": (args.file.name, handle)}, data=form)
    except httpx.TransportError as exc:
        print(f"rehab: cannot reach the quotas service at {args.url}: {exc}", file=err)
        return 1
    if answer.status_code != 200:
        print(f"rehab: the quotas service refused {args.file.name}: {_message(answer)}", file=err)
        return 1
    report = answer.json()
    print(
        f"{args.file.name} ({report['kind']}): {report['created']} kế hoạch mới / created, "
        f"{report['revised']} điều chỉnh / revised, {report['unchanged']} không đổi / unchanged",
        file=out,
    )
    for rejected in report["rejected"]:
        reasons = "; ".join(f"{field}: {why}" for field, why in rejected["errors"].items())
        print(f"  dòng {rejected['row']}: {reasons}", file=out)
    return 0
