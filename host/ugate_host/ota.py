"""`ugate ota`: update ugate on a board over the network.

    ugate ota --host garden-shed.local[:PORT] --board esp32 [--token TOKEN] [--https] [--no-wait]
    ugate ota --host garden-shed.local[:PORT] --bundle build/esp32/ugate-update.bin ...

It builds the board's .mpy tree (tools/build.py), or takes an update bundle
built before (ugate_host.update_bundle: what the build writes as
ugate-update.bin, and what the web page's Update control sends), checks
that the bundle is for the board the board says it is, sends the board's
update API with an access token what the board takes (the tree, or its
ROMFS image where the board runs from its ROMFS partition), in pieces no
larger than a board's request body, with a progress bar, then the SHA-256
of every file sent;
the board checks them as written to its flash, restarts into the update on
trial and keeps it once it has served for `board.update_confirm_after`
seconds, or goes back to the code before it. Without --no-wait this command
waits for that outcome.
"""
import http.client
import json
import os
import ssl
import sys
import time

from ugate_host import update_bundle

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BAR = 30


class OtaError(Exception):
    pass


class Board:
    """The board's HTTP API, one kept-alive connection."""

    def __init__(self, host, token, https=False, timeout=30):
        self.host, self.token, self.https, self.timeout = host, token, https, timeout
        self.conn = None

    def request(self, method, path, body=None):
        for attempt in (1, 2):  # the board may close a kept-alive connection
            if self.conn is None:
                if self.https:
                    # A board's certificate is often self-signed: the token is what matters here.
                    context = ssl._create_unverified_context()
                    self.conn = http.client.HTTPSConnection(self.host, timeout=self.timeout, context=context)
                else:
                    self.conn = http.client.HTTPConnection(self.host, timeout=self.timeout)
            try:
                self.conn.request(method, path, body, {"Authorization": "Bearer " + self.token})
                res = self.conn.getresponse()
                data = res.read()
                break
            except (OSError, http.client.HTTPException):
                self.conn.close()
                self.conn = None
                if attempt == 2:
                    raise
        if res.status == 401:
            raise OtaError("the board refused the token (401)")
        if res.status == 404 and path.startswith("/api/ugate/"):
            raise OtaError("the board has no update API (404): is it running ugate on a board?")
        try:
            answer = json.loads(data)
        except ValueError:
            answer = {"error": data.decode(errors="replace")}
        if res.status >= 400:
            reason = answer.get("error") or answer.get("message") or answer
            raise OtaError("{} {}: {} {}".format(method, path, res.status, reason))
        return answer

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def progress(done, total, out):
    filled = BAR * done // total if total else BAR
    out.write("\rsending [{}{}] {:3d}% {}/{} KB".format("#" * filled, "." * (BAR - filled),
                                                         100 * done // total if total else 100,
                                                         done // 1024, total // 1024))
    out.flush()


def send(board, header, files, out=sys.stderr):
    """Begin, send the bundle's files the board takes (its tree, or its
    ROMFS image), then their SHA-256 sums, in pieces as large as the board
    takes; commit; returns the slot."""
    begun = board.request("POST", "/api/ugate/update")
    slot, size = begun["slot"], begun["piece"]
    try:
        entries, files = update_bundle.for_board(header, files, begun.get("image"))
    except update_bundle.BundleError as exc:
        raise OtaError(str(exc))
    sums = update_bundle.sums(entries)
    total, done = sum(len(data) for _, data in files) + len(sums), 0
    for url, data in [("files/" + path, data) for path, data in files] + [("sums", sums)]:
        for offset in range(0, max(len(data), 1), size):
            piece = data[offset:offset + size]
            board.request("PUT", "/api/ugate/update/{}?offset={}".format(url, offset), piece)
            done += len(piece)
            progress(done, total, out)
    out.write("\n")
    board.request("POST", "/api/ugate/update/commit")
    return slot


def wait(board, slot, timeout, out=sys.stderr):
    """Wait for the board to keep the update in `slot` (True) or roll it
    back (False)."""
    deadline = time.time() + timeout
    time.sleep(2)  # the board restarts a second after its answer
    while time.time() < deadline:
        board.close()
        try:
            status = board.request("GET", "/api/ugate/board")
        except (OSError, http.client.HTTPException, OtaError):
            time.sleep(1)
            continue
        if status.get("rolled_back") == slot:
            return False
        if status.get("slot") == slot and not status.get("on_trial"):
            return True
        time.sleep(1)
    raise OtaError("the board did not report the update's outcome within {} s".format(timeout))


def bundle_for(board_name, bundle):
    """(header, files) of the bundle file `bundle`, or of a build for
    `board_name` when there is none."""
    if bundle is None:
        sys.path.insert(0, os.path.join(REPO, "tools"))
        import build  # tools/build.py
        import tempfile
        with tempfile.TemporaryDirectory() as tmp:
            try:
                tree = build.build(board_name, os.path.join(tmp, board_name))
            except build.BuildError as exc:
                raise OtaError(str(exc))
            bundle = os.path.join(tree, update_bundle.FILE_NAME)
            return update_bundle.read(bundle)
    try:
        header, files = update_bundle.read(bundle)
    except update_bundle.BundleError as exc:
        raise OtaError("{}: {}".format(bundle, exc))
    if board_name and header.get("board") != board_name:
        raise OtaError("{} is for the board {}, not {}".format(bundle, header.get("board"), board_name))
    return header, files


def check_board(board, header):
    """The board must be the one the bundle was built for (its status names
    its board file's name)."""
    status = board.request("GET", "/api/ugate/board")
    if status.get("board") and status["board"] != header.get("board_name"):
        raise OtaError("the update is for {} ({}), but the board is {}".format(
            header.get("board_name"), header.get("board"), status["board"]))


def run(host, board_name, token, https=False, no_wait=False, timeout=180, out=sys.stderr, bundle=None):
    header, files = bundle_for(board_name, bundle)
    board = Board(host, token, https)
    try:
        check_board(board, header)
        out.write("sending ugate {} for {}\n".format(header.get("version"), header.get("board_name")))
        slot = send(board, header, files, out)
        out.write("the board checked the update and restarts into it ({})\n".format(slot))
        if no_wait:
            return 0
        if wait(board, slot, timeout, out):
            out.write("the update runs and is kept\n")
            return 0
        out.write("the update did not come up: the board went back to the code before it\n")
        return 1
    finally:
        board.close()
