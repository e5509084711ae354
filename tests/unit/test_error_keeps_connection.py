"""An error no handler claims is answered in the error format and the keep-alive connection survives it.

Before: Starlette re-raised from its catch-all handler and uvicorn reset the connection, so a client's next
request on it was lost (found with `as_of=9999-12-31` and `period=%0d%0a2025`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator

import uvicorn
from fastapi import APIRouter

from shared.base.settings import ServiceSettings
from shared.runtime.service import ServiceSpec, create_app

router = APIRouter()


@router.get("/boom")
async def boom() -> None:
    raise RuntimeError("a bug")


@router.get("/overflow")
async def overflow() -> None:
    raise OverflowError("date value out of range")


@contextlib.asynccontextmanager
async def serving() -> AsyncIterator[int]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    app = create_app(ServiceSpec("probe", "probe", "probe", routers=[router]), ServiceSettings.for_service("probe"))
    server = uvicorn.Server(uvicorn.Config(app, lifespan="off", log_config=None, access_log=False))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:  # noqa: ASYNC110 - uvicorn offers only this flag
        await asyncio.sleep(0.01)
    try:
        yield port
    finally:
        server.should_exit = True
        await task


async def exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, path: str) -> tuple[int, dict]:
    writer.write(f"GET {path} HTTP/1.1\r\nHost: probe\r\nConnection: keep-alive\r\n\r\n".encode())
    await writer.drain()
    head = (await reader.readuntil(b"\r\n\r\n")).decode()
    status = int(head.split()[1])
    length = int(next(line.split(":")[1] for line in head.split("\r\n") if line.lower().startswith("content-length")))
    return status, json.loads(await reader.readexactly(length))


async def test_unexpected_errors_answer_and_keep_the_connection() -> None:
    async with serving() as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        status, body = await exchange(reader, writer, "/boom")
        assert (status, body["error"]["code"]) == (500, "internal")
        status, body = await exchange(reader, writer, "/overflow")
        assert (status, body["error"]["code"]) == (422, "invalid")
        status, body = await exchange(reader, writer, "/health/live")  # the same connection, still open
        assert (status, body["status"]) == (200, "live")
        writer.close()
