"""The web page's Update control on a board, end to end in a real browser
(Debian's headless Chromium, tests/browser.py): the owner picks an update
bundle (ugate_host.update_bundle, what tools/build.py writes as
ugate-update.bin), the page sends it to the board's update API with a
progress bar, the board restarts into it, and the page says whether it was
kept or rolled back. The board is the compiled tree on the MicroPython unix
port with stand-ins for its hardware modules (test_board_appliance.Board),
so this runs on MicroPython only, as the board appliance does; the page's
absence on a gateway that is no board is checked in test_page_browser."""
import os
import shutil
import subprocess

from conftest import MPY_CROSS, ROOT
from test_board_appliance import FAST, make_board  # noqa: F401  (make_board: a fixture)
from test_page_browser import browser, find, text_of, wait  # noqa: F401  (browser: a fixture)
from ugate import VERSION
from ugate_host import update_bundle

MARKED = VERSION + "+page-update"


def bundle(board_tree, tmp_path, name, version=MARKED, board=("esp32", "ESP32 (generic WROOM-32)"),
           module=None, sha256=None):
    """An update bundle of the board tree's lib/ with ugate.VERSION set to
    `version` (the mark of the new build), `module` as ugate/app.mpy, and
    `sha256` in place of the first file's hash in the header."""
    lib = str(tmp_path / (name + "-lib"))
    shutil.copytree(os.path.join(board_tree, "lib"), lib)
    src = tmp_path / (name + "-init.py")
    with open(os.path.join(ROOT, "shared", "ugate", "__init__.py")) as f:
        src.write_text(f.read().replace('VERSION = "{}"'.format(VERSION), 'VERSION = "{}"'.format(version)))
    subprocess.run([MPY_CROSS, "-o", os.path.join(lib, "ugate", "__init__.mpy"), str(src)], check=True)
    if module is not None:
        with open(os.path.join(lib, "ugate", "app.mpy"), "wb") as f:
            f.write(module)
    data = update_bundle.pack(update_bundle.tree_files(lib), board[0], board[1], version)
    if sha256 is not None:
        data = data.replace(update_bundle.unpack(data)[0]["files"][0]["sha256"].encode(), sha256.encode(), 1)
    path = tmp_path / (name + ".bin")
    path.write_bytes(data)
    return str(path)


def signed_in_on_gateway_view(browser, board):
    board.get("/api/")  # up
    browser.get(board.url("/#gateway"))
    wait(browser, lambda d: find(d, "#signin").is_displayed())
    find(browser, "#token-input").send_keys(board.token)
    find(browser, "#token-form button").click()
    wait(browser, lambda d: find(d, "#update-part").is_displayed())


def send(browser, path):
    browser.execute_script("document.getElementById('update-file').value = '';")
    find(browser, "#update-file").send_keys(path)
    find(browser, "#update-send").click()


def said(browser, text, timeout=15):
    wait(browser, lambda d: text in text_of(d, "#update-message"), timeout)
    return find(browser, "#update-message").get_attribute("class")


def test_a_bad_file_is_refused_and_nothing_changes(make_board, board_tree, tmp_path, browser):  # noqa: F811
    board = make_board().boot()
    signed_in_on_gateway_view(browser, board)
    not_one = tmp_path / "photo.jpg"
    not_one.write_bytes(b"\xff\xd8\xff\xe0 not an update")
    send(browser, str(not_one))
    assert said(browser, "This is not a ugate update bundle") == "error"
    send(browser, bundle(board_tree, tmp_path, "pico", board=("pico_w", "Raspberry Pi Pico W")))
    assert said(browser, "This update is for Raspberry Pi Pico W (pico_w), but this board is "
                         "ESP32 (generic WROOM-32).") == "error"
    # A file whose bytes are not what the header's SHA-256 says: the board
    # finds out as it checks what it wrote, and keeps running what it has.
    send(browser, bundle(board_tree, tmp_path, "tampered", sha256="0" * 64))
    assert said(browser, "does not match its SHA-256. It runs the code it had.", timeout=60) == "error"
    assert "The board refused the update: " in text_of(browser, "#update-message")
    assert not find(browser, "#update-progress").is_displayed()
    status = board.get("/api/ugate/board").json()
    assert (status["slot"], status["on_trial"]) == ("lib", False)
    assert board.get("/api/ugate/owner/gateway").json()["version"] == VERSION
    assert board.proc.poll() is None  # no restart


def test_an_update_is_sent_with_progress_then_kept_or_rolled_back(make_board, board_tree, tmp_path,  # noqa: F811
                                                                   browser):
    # A board that takes 1 KB bodies: the page sends pieces as large as it says.
    board = make_board(config=dict(FAST, limits={"max_body_bytes": 1024})).boot()
    signed_in_on_gateway_view(browser, board)
    # An update whose ugate.app fails to import: the trial boot fails, and
    # the board goes back to the code before it.
    broken = os.path.join(tmp_path, "app.py")
    with open(broken, "w") as f:
        f.write("raise ImportError('a broken update')\n")
    subprocess.run([MPY_CROSS, "-o", broken[:-3] + ".mpy", broken], check=True)
    with open(broken[:-3] + ".mpy", "rb") as f:
        send(browser, bundle(board_tree, tmp_path, "broken", module=f.read()))
    wait(browser, lambda d: "Sending ugate {}: file ".format(MARKED) in text_of(d, "#update-message"))
    board.wait_reset(timeout=120)
    assert said(browser, "restarts into ugate {} on trial".format(MARKED)) == ""
    board.boot().wait_reset()  # the trial boot fails; its watchdog resets it
    board.boot()
    assert said(browser, "The update did not come up: the board went back to the code before it, "
                         "ugate {}.".format(VERSION), timeout=60) == "error"
    # The good one, with its version mark: sent, restarted into, kept.
    send(browser, bundle(board_tree, tmp_path, "good"))
    board.wait_reset(timeout=120)
    progress = find(browser, "#update-progress")
    assert progress.is_displayed()
    assert progress.get_attribute("value") == progress.get_attribute("max")
    header = update_bundle.read(str(tmp_path / "good.bin"))[0]
    # Every file's bytes, and the SHA-256 sums after them.
    assert int(progress.get_attribute("max")) == sum(f["size"] for f in header["files"]) + len(
        update_bundle.sums(header))
    board.boot()
    assert said(browser, "The update runs and is kept: ugate {}.".format(MARKED), timeout=60) == ""
    status = board.get("/api/ugate/board").json()
    assert (status["slot"], status["on_trial"], status["rolled_back"]) == ("lib.a", False, None)
    assert board.get("/api/ugate/owner/gateway").json()["version"] == MARKED
