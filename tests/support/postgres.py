"""A PostgreSQL of the test's own, which a test may stop and start: the platform's on 55432 is never touched.

It is a cluster made with Debian's `initdb` in a temporary directory, on a free port, with the roles, the
database and the schemas the platform has (deploy/local/postgres/bootstrap.sql and schemas.sql, run by psql
as deploy/local/postgres.sh runs them). PostgreSQL refuses to run as root, so root runs it as `postgres`.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from pathlib import Path

from tests.support.ports import HOST, free_port

SQL = Path(__file__).resolve().parents[2] / "deploy" / "local" / "postgres"


def pg_bin() -> Path:
    """The newest PostgreSQL's binaries that Debian's packages installed."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name))
    if not found:
        raise RuntimeError("no PostgreSQL under /usr/lib/postgresql: run `make platform` first")
    return found[-1]


class PostgresCluster:
    """`start` (initdb the first time), `stop` (fast shutdown, as postgres.sh stop), `close` (stop, remove)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.home = Path(tempfile.mkdtemp(prefix="rehab-pg-"))  # not under pytest's root-only tmp_path
        self.data, self.socket = self.home / "data", self.home / "run"
        self.bin = pg_bin()

    @property
    def env(self) -> dict[str, str]:
        """What the services and the checks need to use this cluster."""
        return {"REHAB_PG_HOST": HOST, "REHAB_PG_PORT": str(self.port)}

    async def _run(self, *args: str | Path) -> str:
        command = [str(a) for a in args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        process = await asyncio.create_subprocess_exec(
            *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
        )
        out, _ = await process.communicate()
        if process.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed:\n{out.decode(errors='replace')[-3000:]}")
        return out.decode()

    async def start(self) -> None:
        """Start the cluster; the first start creates it with the platform's roles, database and schemas."""
        first = not self.data.exists()
        if first:
            await self._init()
        await self._run(
            self.bin / "pg_ctl", "-D", self.data, "-l", self.home / "postgres.log", "-w", "-t", "60", "start"
        )
        if first:
            await self._psql("postgres", "-f", SQL / "bootstrap.sql")
            await self._psql("postgres", "-c", "CREATE DATABASE rehab OWNER rehab")
            await self._psql("rehab", "-f", SQL / "schemas.sql")

    async def _init(self) -> None:
        if os.geteuid() == 0:
            shutil.chown(self.home, "postgres")
        await self._run("mkdir", "-p", self.socket)
        await self._run(
            self.bin / "initdb", "-D", self.data, "-U", "postgres", "-E", "UTF8", "--locale=C.UTF-8",
            "--auth-local=trust", "--auth-host=scram-sha-256",
        )  # fmt: skip
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write(f"listen_addresses = '{HOST}'\nport = {self.port}\nunix_socket_directories = '{self.socket}'\n")
            conf.write("max_connections = 200\n")

    async def _psql(self, database: str, *args: str | Path) -> None:
        await self._run(
            self.bin / "psql", "-q", "-h", self.socket, "-p", str(self.port), "-U", "postgres", "-d", database,
            "-v", "ON_ERROR_STOP=1", *args,
        )  # fmt: skip

    async def stop(self) -> None:
        """A fast shutdown: clients are disconnected, data is flushed (what `postgres.sh stop` does)."""
        await self._run(self.bin / "pg_ctl", "-D", self.data, "-m", "fast", "-w", "stop")

    async def close(self) -> None:
        if (self.data / "postmaster.pid").exists():
            await self.stop()
        shutil.rmtree(self.home, ignore_errors=True)
