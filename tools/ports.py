"""Loopback ports for the gateways, brokers and targets the tests and
benchmarks start.

Asking the kernel for port 0 hands out a port that was just released, so
a client still talking to a stopped gateway (a forwarder retrying its
upstream, another test worker) can reach the next gateway on that port
and, say, fail a login there. Ports here come in turn from a slice of
20000-32767 (below Linux's ephemeral range, which client sockets use) of
this pytest-xdist worker's own, so no port is handed out twice in a run
until the slice wraps."""
import os
import socket

FIRST, LAST = 20000, 32767
WORKERS = 8
SLICE = (LAST - FIRST) // WORKERS

_worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
_base = FIRST + (int(_worker[2:] or 0) % WORKERS) * SLICE
_next = 0


def free_port():
    """The next port of this process's slice that nothing listens on."""
    global _next
    for _ in range(SLICE):
        port = _base + _next
        _next = (_next + 1) % SLICE
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in {}-{}".format(_base, _base + SLICE - 1))
