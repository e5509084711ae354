"""Ports picked free at run time, so that two runs (or two tests) on one machine never collide."""

from __future__ import annotations

import socket

HOST = "127.0.0.1"


def free_port() -> int:
    """A port no process listens on now (the OS picks it; a test binds it soon after)."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def free_ports(names: tuple[str, ...]) -> dict[str, int]:
    """A distinct free port per name."""
    ports: dict[str, int] = {}
    while len(set(ports.values())) < len(names):
        ports = {name: free_port() for name in names}
    return ports


def free_base_port(span: int = 20) -> int:
    """A port such that it and the `span` - 1 above it are free now (a cluster's client and controller ports)."""
    for _ in range(50):
        base = free_port()
        if base + span < 65535 and all(_free(port) for port in range(base, base + span)):
            return base
    raise RuntimeError("no run of free ports found")


def _free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind((HOST, port))
        except OSError:
            return False
        return True
