"""The web page's Update control on a board, end to end in a real browser
(Debian's headless Chromium, tests/browser.py): the owner picks an update
bundle (ugate_host.update_bundle, what tools/build.py writes as
ugate-update.bin), the page sends it to the board's update API with a
progress bar, the board restarts into it, and the page says whether it was
kept or rolled back. The board is the compiled tree on the MicroPython unix
port with stand-ins for its hardware modules (test_board_appliance.Board),
so this runs on MicroPython only, as the board appliance does; the page's
absence on a gateway that is no board is checked in test_page_browser."""
from test_board_appliance import FAST, MARKED, broken_module, bundle, make_board  # noqa: F401  (a fixture)
from test_page_browser import browser, find, text_of, wait  # noqa: F401  (browser: a fixture)
from ugate import VERSION
from ugate_host import update_bundle

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
    send(browser, bundle(board_tree, tmp_path, "broken", module=broken_module(tmp_path)))
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
    tree = [f for f in header["files"] if f["path"] != "romfs.img"]
    assert int(progress.get_attribute("max")) == sum(f["size"] for f in tree) + len(update_bundle.sums(tree))
    board.boot()
    assert said(browser, "The update runs and is kept: ugate {}.".format(MARKED), timeout=60) == ""
    status = board.get("/api/ugate/board").json()
    assert (status["slot"], status["on_trial"], status["rolled_back"]) == ("lib.a", False, None)
    assert board.get("/api/ugate/owner/gateway").json()["version"] == MARKED


def test_a_board_that_runs_from_romfs_is_sent_the_bundles_image(make_board, board_tree, tmp_path,  # noqa: F811
                                                                 browser):
    board = make_board(install="romfs").boot()
    signed_in_on_gateway_view(browser, board)
    send(browser, bundle(board_tree, tmp_path, "good"))
    wait(browser, lambda d: "Sending ugate {}: file 1 of 1".format(MARKED) in text_of(d, "#update-message"))
    board.wait_reset(timeout=120)
    image = [f for f in update_bundle.read(str(tmp_path / "good.bin"))[0]["files"] if f["path"] == "romfs.img"]
    assert int(find(browser, "#update-progress").get_attribute("max")) == image[0]["size"] + len(
        update_bundle.sums(image))
    board.boot()
    assert said(browser, "The update runs and is kept: ugate {}.".format(MARKED), timeout=60) == ""
    assert board.partition_holds(str(tmp_path / "good.img"))
