"""Ctrl-C (SIGINT) stops the gateway cleanly on both runtimes, and SIGTERM
on the host: exit status 0, no traceback, the port freed."""
import signal
import socket

import pytest


def stop_with(gw, sig):
    gw.proc.send_signal(sig)
    code = gw.proc.wait(10)
    with socket.socket() as s:  # nobody listens on the port any more
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT is not listening
        s.bind(("127.0.0.1", gw.port))
    return code


def test_ctrl_c_stops_cleanly(gateway):
    assert gateway.get("/api/").status_code == 200
    assert stop_with(gateway, signal.SIGINT) == 0
    assert "Traceback" not in gateway.logs()


@pytest.mark.parametrize("runtime", ["cpython"])
def test_sigterm_stops_the_host_cleanly(start_gateway):
    # MicroPython has no signal handlers: SIGTERM ends that process at once,
    # which its atomic file writes make safe (see test_restore_state).
    gw = start_gateway()
    assert stop_with(gw, signal.SIGTERM) == 0
    assert "Traceback" not in gw.logs()
