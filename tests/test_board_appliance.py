"""The board appliance (firmware/board_*.py): Wi-Fi setup page, hostname,
clock, watchdog, board status, safe mode, over-the-air update and roll back.

The board's compiled tree runs in a flash root as a board runs it (boot.py,
then main.py) on the MicroPython unix port, with small stand-ins for the
hardware modules it lacks (tests/standins: `network`, `machine`, `ntptime`,
`romfs_partition`):
they take their answers from a settings file and write what the board
would have done to a log. A board that runs from a ROMFS partition boots
through ugate_host.romfs, with a file as its partition and
`romfs_partition` standing in for the partition's block device. The appliance exists on MicroPython only, so these
tests run there only; what the stand-ins stand for was not run on a board
here (README "The board appliance")."""
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time

import httpx
import pytest

import build  # tools/build.py, on the path by conftest
import deploy  # tools/deploy.py
from conftest import MICROPYTHON, MPY_CROSS, ROOT, UGATE, free_port, run_interpreter, wait_for
from ugate import VERSION
from ugate.hub.tokens import TokenStore
from ugate_host import romfs, update_bundle

STANDINS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "standins")
WIFI = {"ssid": "home", "password": "secret123", "networks": [["home", -50], ["shed", -80]], "rssi": -61}
#: A board config that keeps the tests short: the boot is confirmed after 1 s.
FAST = {"log_level": "info", "board": {"update_confirm_after": 1, "watchdog_timeout": 5,
                                       "ntp_servers": ["time.example"]}}


class Board:
    """A flash root with the board tree, ugate-data/ and the stand-in
    settings; `boot()` runs it until the board resets (the process ends).
    Installed as `install` says: "files", or "romfs" (lib/ as the tree's
    image in a ROMFS partition of `partition_bytes`, the file `<root>.rom`)."""

    def __init__(self, tree, root, config=FAST, wifi=True, settings=None, install="files",
                 partition_bytes=romfs.PARTITION_BYTES):
        self.root = str(root)
        for name in deploy.flash_root(install):
            src = os.path.join(tree, name)
            (shutil.copytree if os.path.isdir(src) else shutil.copy)(src, os.path.join(self.root, name))
        self.partition = None
        if install == "romfs":
            self.partition = self.root + ".rom"
            romfs.write_partition(os.path.join(tree, build.ROMFS_IMAGE), self.partition, partition_bytes)
        self.data = os.path.join(self.root, "ugate-data")
        os.makedirs(self.data)
        self.write("config.json", config)
        if wifi:
            self.write("wifi.json", {"ssid": "home", "password": "secret123"})
        self.token = TokenStore(self.data).create("owner")
        self.settings_path = os.path.join(self.root, "standin.json")
        self.settings(dict({"wifi": WIFI}, **(settings or {})))
        self.proc = None
        self.port = free_port()

    def write(self, name, obj):
        with open(os.path.join(self.data, name), "w") as f:
            json.dump(obj, f)

    def read(self, name):
        with open(os.path.join(self.data, name)) as f:
            return f.read()

    def settings(self, obj):
        with open(self.settings_path, "w") as f:
            json.dump(obj, f)

    def log(self):
        try:
            with open(self.settings_path + ".log") as f:
                return f.read().splitlines()
        except FileNotFoundError:
            return []

    def boot(self):
        """Start the board; its serial console is `proc.stdin` and console.txt."""
        path = [self.root, ".frozen", STANDINS] + ([] if self.partition else [os.path.join(self.root, "lib")])
        env = dict(os.environ, UGATE_STANDIN=self.settings_path, UGATE_BOARD="1", MICROPYPATH=":".join(path))
        run = [sys.executable, "-m", "ugate_host.romfs", "--persist", self.partition] if self.partition else [
            MICROPYTHON]
        self.output = open(os.path.join(self.root, "console.txt"), "ab")
        # A ROMFS board's firmware has its partition before boot.py runs.
        code = ("import romfs_partition\n" if self.partition else "") + "import boot\nimport main"
        self.proc = subprocess.Popen(run + ["-c", code, "--config-dir", "ugate-data",
                                            "--host", "127.0.0.1", "--port", str(self.port)], stdin=subprocess.PIPE,
                                     cwd=self.root, env=env, stdout=self.output, stderr=subprocess.STDOUT)
        return self

    def partition_holds(self, image):
        """Whether the ROMFS partition begins with the bytes of the file `image`."""
        with open(image, "rb") as f:
            data = f.read()
        with open(self.partition, "rb") as f:
            return f.read(len(data)) == data

    def console(self):
        return self.console_bytes().decode("utf-8", "replace")

    def console_bytes(self):
        with open(os.path.join(self.root, "console.txt"), "rb") as f:
            return f.read()

    def wait_reset(self, timeout=30):
        """The board reset itself (machine.reset ends the stand-in's process)."""
        self.proc.wait(timeout)
        self.output.close()
        assert self.log()[-1] == "reset", self.console()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
            self.output.close()
        if self.proc:
            self.proc.stdin.close()

    def url(self, path):
        return "http://127.0.0.1:{}{}".format(self.port, path)

    def get(self, path, token=True, **kwargs):
        headers = {"Authorization": "Bearer " + self.token} if token else {}
        return self.when_up(lambda: httpx.get(self.url(path), headers=headers, timeout=10, **kwargs))

    def request(self, method, path, **kwargs):
        return httpx.request(method, self.url(path), headers={"Authorization": "Bearer " + self.token},
                             timeout=10, **kwargs)

    def when_up(self, call, timeout=20):
        deadline = time.time() + timeout
        while True:
            try:
                return call()
            except httpx.TransportError:
                assert self.proc.poll() is None, self.console()
                if time.time() > deadline:
                    raise
                time.sleep(0.1)


@pytest.fixture
def make_board(board_tree, tmp_path):
    boards = []

    def make(**kwargs):
        root = tmp_path / "flash{}".format(len(boards))
        root.mkdir()
        boards.append(Board(board_tree, root, **kwargs))
        return boards[-1]

    yield make
    for board in boards:
        board.stop()


def boot_record(board):
    return json.loads(board.read("boot.json"))


def test_without_wifi_json_the_setup_page_saves_the_network_and_the_board_joins_it(make_board):
    board = make_board(config=dict(FAST, location_name="Garden Shed"), wifi=False).boot()
    page = board.get("/", token=False)
    assert page.status_code == 200
    assert '<option value="home">home (-50 dBm)</option>' in page.text
    assert 'name="name" value="Garden Shed"' in page.text
    # A phone's captive-portal probe is sent to the page.
    probe = board.get("/generate_204", token=False, follow_redirects=False)
    assert probe.status_code == 302
    assert probe.headers["Location"] == "http://127.0.0.1:{}/".format(board.port)
    short = httpx.post(board.url("/"), data={"ssid": "home", "password": "short", "name": "Garden Shed"})
    assert short.status_code == 400
    assert "A Wi-Fi password has 8 to 63 characters" in short.text
    saved = httpx.post(board.url("/"), data={"ssid": "home", "password": "secret123", "name": "Garden Shed"})
    assert saved.status_code == 200 and "Saved" in saved.text
    board.wait_reset()
    assert "ap garden-shed-setup" in board.log()
    assert json.loads(board.read("wifi.json")) == {"ssid": "home", "password": "secret123"}
    assert json.loads(board.read("config.json"))["location_name"] == "Garden Shed"
    # After the reset the board joins with its name as hostname and serves the API.
    board.boot()
    assert board.get("/api/").json() == {"message": "API running."}
    assert "hostname garden-shed" in board.log() and "connect home" in board.log()


def test_a_network_that_cannot_be_joined_opens_the_setup_page_after_the_join_timeout(make_board):
    config = dict(FAST, board=dict(FAST["board"], wifi_join_timeout=5))
    board = make_board(config=config)
    board.write("wifi.json", {"ssid": "home", "password": "wrong-password"})
    started = time.time()
    board.boot()
    page = board.get("/", token=False)
    assert "<h1>ugate setup</h1>" in page.text
    assert time.time() - started >= 5
    assert "connect home" in board.log() and "ap ugate-setup" in board.log()


def test_board_status_clock_and_watchdog(make_board):
    board = make_board(config=dict(FAST, board=dict(FAST["board"], ntp_servers=["down.example", "time.example"])))
    board.settings({"wifi": WIFI, "reset_cause": 3})  # no NTP server answers yet
    board.boot()
    assert board.get("/api/ugate/board", token=False).status_code == 401
    status = board.get("/api/ugate/board").json()
    assert status["clock_synced"] is False
    assert status["reset_cause"] == "wdt" and status["wifi_rssi"] == -61
    assert status["board"] == "ESP32 (generic WROOM-32)"  # the name in its board.json
    assert status["free_heap"] > 0 and status["uptime"] >= 0
    assert (status["slot"], status["on_trial"], status["rolled_back"]) == ("lib", False, None)
    assert "clock not set yet: times are not trustworthy" in board.console()
    posted = board.request("POST", "/api/states/sensor.early", json={"state": "1"}).json()
    # The NTP server answers a day ahead of this machine's clock: the state
    # stamped before moves with the clock.
    ahead = int(time.time()) + 86400
    board.settings({"wifi": WIFI, "reset_cause": 3, "ntp": {"time.example": ahead}})
    wait_for(lambda: board.get("/api/ugate/board").json()["clock_synced"], what="the clock set")
    later = board.get("/api/states/sensor.early").json()
    from datetime import datetime
    moved = datetime.fromisoformat(later["last_changed"]) - datetime.fromisoformat(posted["last_changed"])
    assert 86400 - 5 < moved.total_seconds() < 86400 + 5
    assert [line for line in board.log() if line.startswith("rtc ")]
    assert "ntp down.example" in board.log()
    # The watchdog is armed and fed while the gateway runs; the boot is confirmed.
    assert "wdt 5000" in board.log()
    wait_for(lambda: board.log().count("feed") >= 2, what="the watchdog fed")
    wait_for(lambda: boot_record(board)["failed_boots"] == 0, what="the boot confirmed")


def test_a_blocked_event_loop_starves_the_watchdog_which_resets_the_board(make_board):
    board = make_board(settings={"wifi": WIFI})
    board.boot()
    wait_for(lambda: board.log().count("feed") >= 2, what="the watchdog fed")
    assert board.get("/api/").status_code == 200
    # The next NTP round blocks the loop for 7 s: no task runs, none feeds.
    board.settings({"wifi": WIFI, "ntp_blocks_s": 7})
    board.wait_reset(timeout=60)
    expired = [line for line in board.log() if line.startswith("watchdog expired")]
    assert expired and int(expired[0].split()[-2]) > 5000


def test_stopping_the_gateway_from_the_console_leaves_time_for_maintenance(make_board):
    """Ctrl-C (mpremote does the same) stops the gateway; the watchdog, which
    cannot be stopped, gets an hour, so that make deploy is not cut short."""
    import signal
    board = make_board().boot()
    wait_for(lambda: "feed" in board.log(), what="the watchdog armed")
    board.proc.send_signal(signal.SIGINT)  # the unix port's Ctrl-C
    board.proc.wait(20)
    assert [line for line in board.log() if line.startswith("wdt ")][-1] == "wdt 3600000"
    assert "the watchdog resets the board in 3600 s" in board.console()


def test_a_board_whose_watchdog_is_short_gets_the_longest_it_has(make_board):
    board = make_board()
    with open(os.path.join(board.root, "board.json")) as f:
        spec = json.load(f)
    with open(os.path.join(board.root, "board.json"), "w") as f:
        json.dump(dict(spec, watchdog_max_s=2), f)  # as the Pico W's 8 s
    board.boot()
    wait_for(lambda: "feed" in board.log(), what="the watchdog armed")
    assert "wdt 2000" in board.log()
    assert "is longer than this board's watchdog allows: 2 s" in board.console()


def test_failed_boots_are_written_down_and_start_safe_mode(make_board):
    board = make_board(settings={"wifi": dict(WIFI, connect_fails_with=5)})  # EIO from the radio
    for boots in (1, 2, 3):
        board.boot().wait_reset()
        assert boot_record(board)["failed_boots"] == boots
        assert "OSError: [Errno 5] EIO" in board.read("crash.txt")
    board.boot()  # the fourth in a row: safe mode, on the setup access point
    page = board.get("/", token=False)
    assert "<b>Safe mode:</b> 3 boots in a row failed" in page.text
    assert "OSError: [Errno 5] EIO" in page.text  # the last failure, for the owner
    assert board.get("/api/", follow_redirects=False).status_code == 302  # the faces are off
    board.settings({"wifi": WIFI})
    saved = httpx.post(board.url("/"), data={"ssid": "home", "password": "secret123", "name": "ugate"})
    assert saved.status_code == 200
    board.wait_reset()
    assert boot_record(board)["failed_boots"] == 0
    board.boot()
    assert board.get("/api/").status_code == 200


def test_ota_update_is_sent_checked_run_on_trial_and_kept(make_board, tmp_path):
    # A board that takes 1 KB bodies: the pieces are as large as it says.
    board = make_board(config=dict(FAST, limits={"max_body_bytes": 1024})).boot()
    board.get("/api/")
    ota = subprocess.Popen([UGATE, "ota", "--host", "127.0.0.1:{}".format(board.port), "--board", "esp32"],
                           env=dict(os.environ, UGATE_TOKEN=board.token), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
    board.wait_reset(timeout=120)
    lib = os.path.join(board.root, "lib")
    sent = sorted(os.path.relpath(os.path.join(d, f), lib) for d, _, fs in os.walk(lib) for f in fs)
    slot = os.path.join(board.root, "lib.a")
    assert sorted(os.path.relpath(os.path.join(d, f), slot) for d, _, fs in os.walk(slot) for f in fs) == sent
    assert boot_record(board)["trial"] == "lib.a"
    board.boot()  # the reboot: the update runs on trial, then is kept
    out, err = ota.communicate(timeout=60)
    assert ota.returncode == 0, err
    assert "100% " in err and "the update runs and is kept" in err
    status = board.get("/api/ugate/board").json()
    assert (status["slot"], status["on_trial"]) == ("lib.a", False)


def ota(board, *args):
    return subprocess.run([UGATE, "ota", "--host", "127.0.0.1:{}".format(board.port)] + list(args),
                          env=dict(os.environ, UGATE_TOKEN=board.token), capture_output=True, text=True)


def test_ota_refuses_a_bundle_for_another_board_or_a_damaged_one(make_board, board_tree, tmp_path):
    board = make_board()
    # The owner (whose token board.token is) and another user, with a token of his own.
    for name in ("ada", "bob"):
        r = subprocess.run([UGATE, "user", "create", name, "--config-dir", board.data], input="a long password\n",
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
    bob = [u for u in json.loads(board.read("users.json"))["users"] if u["username"] == "bob"][0]
    bobs_token = TokenStore(board.data).create("bob", user_id=bob["id"])
    with open(os.path.join(board.root, "board.json")) as f:
        spec = json.load(f)
    with open(os.path.join(board.root, "board.json"), "w") as f:
        json.dump(dict(spec, name="Raspberry Pi Pico W"), f)
    board.boot()
    bundle = os.path.join(board_tree, "ugate-update.bin")
    other = ota(board, "--bundle", bundle)
    assert other.returncode == 2
    assert ("the update is for ESP32 (generic WROOM-32) (esp32), but the board is Raspberry Pi Pico W"
            in other.stderr)
    named = ota(board, "--bundle", bundle, "--board", "pico_w")
    assert "ugate-update.bin is for the board esp32, not pico_w" in named.stderr
    with open(bundle, "rb") as f:
        data = f.read()
    damaged = tmp_path / "damaged.bin"
    damaged.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
    refused = ota(board, "--bundle", str(damaged))
    assert refused.returncode == 2 and "in the bundle does not match its SHA-256" in refused.stderr
    assert not os.path.exists(os.path.join(board.root, "lib.a"))  # nothing was begun
    # Only the owner may replace the board's code; every user may read its status.
    with open(os.path.join(board.root, "board.json"), "w") as f:
        json.dump(spec, f)  # the board the bundle is for
    bobs = {"Authorization": "Bearer " + bobs_token}
    assert httpx.get(board.url("/api/ugate/board"), headers=bobs).status_code == 200
    for method, path in (("POST", "/api/ugate/update"), ("PUT", "/api/ugate/update/files/ugate/app.mpy"),
                         ("POST", "/api/ugate/update/commit")):
        r = httpx.request(method, board.url(path), headers=bobs)
        assert (r.status_code, r.json()) == (403, {"message": "Only the owner may do this."}), path
    refused = ota(board, "--bundle", bundle, "--token", bobs_token)
    assert "POST /api/ugate/update: 403 Only the owner may do this." in refused.stderr
    assert not os.path.exists(os.path.join(board.root, "lib.a"))


def test_an_update_sent_before_the_boot_is_confirmed_still_runs_on_trial(tmp_path):
    """The gateway confirms its boot once it has served a while: an update
    committed before then has not run yet, and stays on trial for the next
    boot (it was taken for kept, never having run)."""
    code = ("import board_boot\nboard_boot.try_update('lib.a')\nr = board_boot.confirm()\n"
            "print(r['slot'], r['trial'], r['failed_boots'])")
    r = run_interpreter("micropython", ["-c", code], path=[os.path.join(ROOT, "firmware")], cwd=str(tmp_path))
    assert r.stdout.split() == ["lib", "lib.a", "0"], r.stdout + r.stderr


def broken_module(tmp_path):
    src = tmp_path / "app.py"
    src.write_text("raise ImportError('a broken update')\n")
    subprocess.run([MPY_CROSS, "-o", str(tmp_path / "app.mpy"), str(src)], check=True)
    return (tmp_path / "app.mpy").read_bytes()


#: The version a new build in these tests says it is.
MARKED = VERSION + "+update"


def bundle(board_tree, tmp_path, name, version=MARKED, board=("esp32", "ESP32 (generic WROOM-32)"),
           module=None, sha256=None, extra=None):
    """An update bundle as tools/build.py writes it (lib/, then its ROMFS
    image) of the board tree's lib/ with ugate.VERSION set to `version`
    (the mark of the new build), `module` as ugate/app.mpy, `extra` bytes
    as one more file, and `sha256` in place of the first file's hash in the
    header."""
    lib = str(tmp_path / (name + "-lib"))
    shutil.copytree(os.path.join(board_tree, "lib"), lib)
    src = tmp_path / (name + "-init.py")
    with open(os.path.join(ROOT, "shared", "ugate", "__init__.py")) as f:
        src.write_text(f.read().replace('VERSION = "{}"'.format(VERSION), 'VERSION = "{}"'.format(version)))
    subprocess.run([MPY_CROSS, "-o", os.path.join(lib, "ugate", "__init__.mpy"), str(src)], check=True)
    if module is not None:
        with open(os.path.join(lib, "ugate", "app.mpy"), "wb") as f:
            f.write(module)
    if extra is not None:
        with open(os.path.join(lib, "extra.bin"), "wb") as f:
            f.write(extra)
    image = str(tmp_path / (name + ".img"))
    build.romfs(lib, image)
    path = str(tmp_path / (name + ".bin"))
    update_bundle.write(lib, image, path, board[0], board[1], version)
    if sha256 is not None:
        with open(path, "rb") as f:
            data = f.read()
        with open(path, "wb") as f:
            f.write(data.replace(update_bundle.unpack(data)[0]["files"][0]["sha256"].encode(), sha256.encode(), 1))
    return path


def test_an_update_that_does_not_come_up_is_rolled_back(make_board, tmp_path):
    board = make_board().boot()
    board.get("/api/")
    assert board.request("PUT", "/api/ugate/update/files/ugate/app.mpy", content=b"x").status_code == 409
    assert board.request("POST", "/api/ugate/update").json() == {"slot": "lib.a", "piece": 4096, "image": False}
    bad_path = board.request("PUT", "/api/ugate/update/files/../main.mpy", content=b"x")
    assert bad_path.status_code in (400, 404)  # refused either way: nothing outside the slot
    broken = broken_module(tmp_path)
    r = board.request("PUT", "/api/ugate/update/files/ugate/app.mpy?offset=0", content=broken[:100])
    assert r.json() == {"path": "ugate/app.mpy", "size": 100}
    gap = board.request("PUT", "/api/ugate/update/files/ugate/app.mpy?offset=300", content=broken[100:])
    assert gap.status_code == 400 and "has 100 bytes, not 300" in gap.json()["error"]
    board.request("PUT", "/api/ugate/update/files/ugate/app.mpy?offset=100", content=broken[100:])
    # The rest of the tree as deployed: only ugate.app is broken.
    lib = os.path.join(board.root, "lib")
    sums = {"ugate/app.mpy": hashlib.sha256(broken).hexdigest()}
    for d, _, names in os.walk(lib):
        for name in names:
            path = os.path.relpath(os.path.join(d, name), lib)
            if path not in sums:
                with open(os.path.join(d, name), "rb") as f:
                    data = f.read()
                sums[path] = hashlib.sha256(data).hexdigest()
                assert board.request("PUT", "/api/ugate/update/files/" + path, content=data).status_code == 200
    no_sums = board.request("POST", "/api/ugate/update/commit")
    assert no_sums.status_code == 400 and "send the SHA-256 sums first" in no_sums.json()["error"]

    def commit(entries, order=sorted):
        # The sums as sha256sum writes them, a line a file.
        text = "".join("{}  {}\n".format(digest, path) for path, digest in order(entries.items()))
        assert board.request("PUT", "/api/ugate/update/sums", content=text.encode()).status_code == 200
        return board.request("POST", "/api/ugate/update/commit")

    wrong = commit(dict(sums, **{"ugate/app.mpy": "0" * 64}))
    assert wrong.status_code == 400 and "ugate/app.mpy does not match its SHA-256" in wrong.json()["error"]
    missing = commit({"ugate/app.mpy": sums["ugate/app.mpy"]})
    assert missing.status_code == 400 and "files not in the sums (the slot holds {}, the sums list 1)".format(
        len(sums)) in missing.json()["error"]
    unordered = commit(sums, order=lambda items: sorted(items, reverse=True))
    assert unordered.status_code == 400 and "in order of path" in unordered.json()["error"]
    assert boot_record(board)["trial"] is None
    good = commit(sums)
    assert good.json() == {"slot": "lib.a", "restarting": True}
    board.wait_reset()
    # The trial boot fails before main.py gets anywhere (it drops a board
    # to its REPL): the watchdog boot.py armed for the trial resets it.
    board.boot().wait_reset()
    assert "ImportError: a broken update" in board.console()
    assert board.log()[-2:] == ["watchdog expired: the program ended", "reset"]
    assert "wdt 60000" in board.log()  # armed by boot.py for the trial
    board.boot()  # boot.py goes back to the deployed code
    status = board.get("/api/ugate/board").json()
    assert (status["slot"], status["on_trial"], status["rolled_back"]) == ("lib", False, "lib.a")
    assert "ota: update in lib.a did not come up; back to lib" in board.console()


def test_a_board_that_runs_from_romfs_is_updated_by_an_image_kept_or_rolled_back(make_board, board_tree,
                                                                                   tmp_path):
    """The board runs ugate from its ROMFS partition: an update is a new
    image, which the trial boot writes into the partition after keeping the
    one it held; kept, or written back when the trial fails."""
    board = make_board(install="romfs").boot()
    assert board.get("/api/ugate/owner/gateway").json()["version"] == VERSION
    deployed = os.path.join(board_tree, build.ROMFS_IMAGE)
    good = bundle(board_tree, tmp_path, "good")
    sent = subprocess.Popen([UGATE, "ota", "--host", "127.0.0.1:{}".format(board.port), "--bundle", good],
                            env=dict(os.environ, UGATE_TOKEN=board.token), stderr=subprocess.PIPE, text=True)
    board.wait_reset(timeout=120)
    # The image alone was sent, to the slot; the partition is untouched yet.
    assert os.listdir(os.path.join(board.root, "lib.a")) == ["romfs.img"]
    assert board.partition_holds(deployed)
    board.boot()  # the trial boot writes the image into the partition
    _, err = sent.communicate(timeout=60)
    assert sent.returncode == 0 and "the update runs and is kept" in err, err
    assert board.partition_holds(str(tmp_path / "good.img"))
    assert board.get("/api/ugate/owner/gateway").json()["version"] == MARKED  # the new code runs
    status = board.get("/api/ugate/board").json()
    assert (status["slot"], status["on_trial"], status["rolled_back"]) == ("lib.a", False, None)
    # Kept: the deployed image, kept as a file for the trial, is gone.
    assert not os.path.exists(os.path.join(board.root, "lib", "romfs.img"))
    assert boot_record(board)["rom"] == "lib.a"

    # An image whose ugate.app fails to import.
    broken = bundle(board_tree, tmp_path, "broken", version=MARKED + ".2", module=broken_module(tmp_path))
    sent = ota(board, "--bundle", broken, "--no-wait")
    assert sent.returncode == 0, sent.stderr
    board.wait_reset()
    board.boot().wait_reset()  # the trial boot writes it, fails, and the watchdog resets
    assert board.partition_holds(str(tmp_path / "broken.img"))
    assert "ImportError: a broken update" in board.console()
    board.boot()  # back to lib.a: its image is written back
    status = board.get("/api/ugate/board").json()
    assert (status["slot"], status["on_trial"], status["rolled_back"]) == ("lib.a", False, "lib.b")
    assert board.partition_holds(str(tmp_path / "good.img"))
    assert board.get("/api/ugate/owner/gateway").json()["version"] == MARKED


def test_an_image_the_trial_boot_cannot_write_is_rolled_back(make_board, board_tree, tmp_path):
    """The trial boot keeps the partition's image as a file before it
    writes the new one: where that fails (here a file stands where the
    deployed slot's directory would be), it writes nothing, and the board
    goes back to the code it had."""
    board = make_board(install="romfs").boot()
    sent = ota(board, "--bundle", bundle(board_tree, tmp_path, "good"), "--no-wait")
    assert sent.returncode == 0, sent.stderr
    board.wait_reset()
    with open(os.path.join(board.root, "lib"), "w") as f:
        f.write("in the way")
    board.boot().wait_reset()
    assert "ota: writing the image of lib.a failed" in board.console()
    assert board.partition_holds(os.path.join(board_tree, build.ROMFS_IMAGE))  # untouched
    board.boot()
    status = board.get("/api/ugate/board").json()
    assert (status["slot"], status["on_trial"], status["rolled_back"]) == ("lib", False, "lib.a")
    assert board.get("/api/ugate/owner/gateway").json()["version"] == VERSION


def test_an_update_a_board_cannot_run_is_refused_before_the_restart(make_board, board_tree, tmp_path):
    """A ROMFS board takes its image alone, one that fits its partition; a
    board that runs from files takes a tree, not an image."""
    board = make_board(install="romfs", partition_bytes=320 * 1024).boot()
    board.get("/api/")
    with open(os.path.join(board_tree, build.ROMFS_IMAGE), "rb") as f:
        image = f.read()

    def commit(board, files, image=True):
        assert board.request("POST", "/api/ugate/update").json()["image"] is image
        for path, data in files.items():
            for at in range(0, len(data), 4096):
                put = board.request("PUT", "/api/ugate/update/files/{}?offset={}".format(path, at),
                                    content=data[at:at + 4096])
                assert put.status_code == 200, put.text
        sums = "".join("{}  {}\n".format(hashlib.sha256(data).hexdigest(), path)
                       for path, data in sorted(files.items()))
        board.request("PUT", "/api/ugate/update/sums", content=sums.encode())
        answer = board.request("POST", "/api/ugate/update/commit")
        assert answer.status_code == 400
        return answer.json()["error"]

    app = read_file(os.path.join(board_tree, "lib", "ugate", "app.mpy"))
    alone = "this board runs from its ROMFS partition: send its image, romfs.img, alone"
    assert commit(board, {"ugate/app.mpy": app}) == alone
    assert commit(board, {"ugate/app.mpy": app, "romfs.img": image}) == alone
    assert commit(board, {"romfs.img": image[:-2]}) == "romfs.img is not a ROMFS image of {} bytes".format(
        len(image) - 2)
    large = read_file(bundle(board_tree, tmp_path, "large", extra=os.urandom(40 * 1024))[:-4] + ".img")
    assert commit(board, {"romfs.img": large}) == "the image has {} bytes; the ROMFS partition holds {}".format(
        len(large), 320 * 1024)
    assert boot_record(board)["trial"] is None and board.proc.poll() is None

    files = make_board().boot()
    files.get("/api/")
    assert commit(files, {"romfs.img": image}, image=False) == (
        "this board takes a tree of .mpy files, not a ROMFS image")


def read_file(path):
    with open(path, "rb") as f:
        return f.read()


def dns_query(name, qid=0x1234):
    labels = b"".join(bytes([len(part)]) + part.encode() for part in name.split("."))
    return qid.to_bytes(2, "big") + b"\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00" + labels + b"\x00\x00\x01\x00\x01"


def test_setup_dns_answers_every_name_with_the_board(board_tree):
    """The captive portal's DNS: a phone on the setup access point looks up
    its connectivity-check host and is sent to the board."""
    import socket
    port = free_port()
    env = dict(os.environ, MICROPYPATH=":".join([board_tree, ".frozen", STANDINS, os.path.join(board_tree, "lib")]))
    proc = subprocess.Popen([MICROPYTHON, "-c", "import asyncio, board_setup\n"
                             "asyncio.run(board_setup.dns_server('127.0.0.1', {}))".format(port)], env=env)
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(0.5)

            def answer():
                s.sendto(dns_query("connectivitycheck.gstatic.com"), ("127.0.0.1", port))
                try:
                    return s.recv(512)
                except socket.timeout:
                    return None
            reply = wait_for(answer, what="a DNS answer")
            question = dns_query("connectivitycheck.gstatic.com")[12:]
            assert reply[:2] == b"\x12\x34" and reply[2:4] == b"\x81\x80"  # the query's id; an answer
            assert reply[4:12] == b"\x00\x01\x00\x01\x00\x00\x00\x00"  # one question, one answer
            assert reply[12:12 + len(question)] == question
            assert reply[-4:] == bytes([127, 0, 0, 1])
            s.sendto(b"\x00\x01garbage", ("127.0.0.1", port))  # not a query: no answer, no crash
            s.sendto(dns_query("ugate.local", qid=7), ("127.0.0.1", port))
            assert s.recv(512)[:2] == b"\x00\x07"
    finally:
        proc.kill()
        proc.wait()


def improv_command(command, data=b"", checksum=None):
    """An Improv serial RPC command packet, built from the protocol's
    description: IMPROV, version 1, type 3, length, data, checksum."""
    body = b"IMPROV" + bytes([1, 3, len(data) + 2, command, len(data)]) + data
    return body + bytes([sum(body) & 0xFF if checksum is None else checksum])


def improv_packets(console):
    """[(type, data)] of the Improv packets the board wrote, checksums checked."""
    out = []
    while b"IMPROV" in console:
        console = console[console.index(b"IMPROV"):]
        end = 9 + console[8]
        assert sum(console[:end]) & 0xFF == console[end]
        out.append((console[7], console[9:end]))
        console = console[end + 1:]
    return out


def improv_strings(data):
    """An RPC result's (command, [strings])."""
    items, rest = [], data[2:]
    assert len(rest) == data[1]
    while rest:
        items.append(rest[1:1 + rest[0]].decode())
        rest = rest[1 + rest[0]:]
    return data[0], items


def test_improv_over_serial_sets_up_wifi_from_a_computer(make_board):
    board = make_board(config=dict(FAST, board=dict(FAST["board"], wifi_join_timeout=5)), wifi=False).boot()
    board.get("/", token=False)  # the setup mode is up

    def ask(packet, count):
        before = len(improv_packets(board.console_bytes()))
        board.proc.stdin.write(packet)
        board.proc.stdin.flush()
        return wait_for(lambda: (lambda p: p[before:] if len(p) >= before + count else None)(
            improv_packets(board.console_bytes())), what="Improv answers")

    assert ask(improv_command(2), 2) == [(2, b"\x00"), (1, b"\x02")]  # no error; ready
    info = ask(improv_command(3), 2)[1]
    assert info[0] == 4 and improv_strings(info[1]) == (3, ["ugate", VERSION, "ESP32 (generic WROOM-32)", "ugate"])
    scan = [improv_strings(data) for kind, data in ask(improv_command(4), 4)[1:]]
    assert scan == [(4, ["home", "-50", "YES"]), (4, ["shed", "-80", "YES"]), (4, [])]
    assert ask(improv_command(2, checksum=0), 1) == [(2, b"\x01")]  # invalid packet
    assert ask(improv_command(9), 1) == [(2, b"\x02")]  # unknown command
    wrong = b"\x04home\x05wrong"
    assert ask(improv_command(1, wrong), 3) == [(2, b"\x00"), (1, b"\x03"), (2, b"\x03")]  # unable to connect
    right = b"\x04home\x09secret123"
    answers = ask(improv_command(1, right), 4)
    assert answers[:3] == [(2, b"\x00"), (1, b"\x03"), (1, b"\x04")]  # provisioning, provisioned
    # The gateway's address on that network (the port it is started with).
    assert improv_strings(answers[3][1]) == (1, ["http://127.0.0.1:{}/".format(board.port)])
    board.wait_reset()
    assert json.loads(board.read("wifi.json")) == {"ssid": "home", "password": "secret123"}
