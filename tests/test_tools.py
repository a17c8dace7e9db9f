"""The board tools in tools/: the build tree, the freeze manifest, flashing
(offline: esptool's argument lists and image checks) and deploying with
mpremote to the MicroPython unix port on a pseudo terminal, as to a board on
a serial port. Then a tiny run of the benchmarks."""
import hashlib
import json
import os
import struct
import subprocess
import sys
import time

import httpx
import pytest

import bench  # tools/*.py, on the path by conftest
import build
import deploy
import flash
from conftest import BIN, ROOT, free_port, run_interpreter
from ptyboard import PtyBoard
from ugate import VERSION
from ugate_host import update_bundle

MICRODOT_FOR_HOST_ONLY = {"asgi.py", "wsgi.py", "jinja.py", "session.py", "utemplate.py", "test_client.py"}


def files(top):
    return sorted(os.path.relpath(os.path.join(d, f), top) for d, _, names in os.walk(top) for f in names)


def read(path):
    with open(path, "rb") as f:
        return f.read()


# build

class NoOptions:
    """A manifest's `options` when nothing includes it with any."""
    def __getattr__(self, name):
        return None


def test_build_tree_is_what_a_board_needs(board_tree):
    built = files(board_tree)
    core = [os.path.join("lib", os.path.relpath(p, os.path.join(ROOT, "shared")))[:-3] + ".mpy"
            for p in build.core_sources()]
    assert core and set(core) <= set(built)
    assert {"lib/mp_platform.mpy", "lib/board_uart.mpy", "lib/microdot/__init__.mpy",
            "lib/microdot/microdot.mpy", "lib/microdot/websocket.mpy"} <= set(built)
    # main.py and boot.py stay readable source; nothing else is .py; the web
    # page is there gzipped only
    assert [f for f in built if not f.endswith(".mpy")] == [
        "board.json", "boot.py", "lib/ugate/faces/page/index.html.gz", "lib/ugate/faces/page/page.css.gz",
        "lib/ugate/faces/page/page.js.gz", "main.py", "romfs.img", "ugate-update.bin"]
    assert {"board_boot.mpy", "board_rom.mpy"} <= set(built)  # in the flash root, out of reach of an update of lib/
    assert read(os.path.join(board_tree, "main.py")) == read(os.path.join(ROOT, "firmware", "main.py"))
    assert json.loads(read(os.path.join(board_tree, "board.json"))) == build.load_board("esp32")
    # Microdot's host-only modules never reach the board
    shipped = {os.path.basename(f)[:-4] + ".py" for f in built if f.startswith("lib/microdot/")}
    assert not shipped & MICRODOT_FOR_HOST_ONLY


def test_build_writes_lib_as_one_update_bundle(board_tree):
    """ugate-update.bin: the format line, one JSON line naming each file of
    lib/ and then the ROMFS image with its size and SHA-256, then the
    files' bytes in that order."""
    data = read(os.path.join(board_tree, "ugate-update.bin"))
    magic, header, rest = data.split(b"\n", 2)
    assert magic == b"ugate-update 1"
    header = json.loads(header)
    assert (header["board"], header["board_name"], header["version"]) == (
        "esp32", "ESP32 (generic WROOM-32)", VERSION)
    lib = os.path.join(board_tree, "lib")
    tree = update_bundle.tree_files(lib)
    assert sorted(path for path, _ in tree) == sorted(os.path.relpath(f, "lib") for f in files(board_tree)
                                                      if f.startswith("lib/"))
    assert [f["path"] for f in header["files"]] == [path for path, _ in tree] + ["romfs.img"]
    for f in header["files"]:
        content = read(os.path.join(lib if f["path"] != "romfs.img" else board_tree, f["path"]))
        assert (f["size"], f["sha256"]) == (len(content), hashlib.sha256(content).hexdigest())
        assert rest[:f["size"]] == content
        rest = rest[f["size"]:]
    assert rest == b""
    assert update_bundle.unpack(data) == (header, tree + [("romfs.img", read(os.path.join(board_tree, "romfs.img")))])


@pytest.mark.parametrize("damage, error", [
    (lambda d: b"PK\x03\x04" + d[4:], "not a ugate update bundle"),
    (lambda d: d.replace(b'"files": [', b'"files": {', 1), "header is not the JSON line"),
    (lambda d: d[:-10], "the bundle ends inside "),
    (lambda d: d + b"x", "1 bytes after the bundle's last file"),
    (lambda d: d[:-1] + bytes([d[-1] ^ 1]), " in the bundle does not match its SHA-256"),
])
def test_a_damaged_update_bundle_is_refused_with_the_reason(board_tree, damage, error):
    data = read(os.path.join(board_tree, "ugate-update.bin"))
    with pytest.raises(update_bundle.BundleError, match=error):
        update_bundle.unpack(damage(data))


def test_build_tree_imports_on_micropython_alone(board_tree):
    code = "import mp_platform, ugate.app, ugate.sources.bridge; print(ugate.app.__name__)"
    r = run_interpreter("micropython", ["-c", code], path=[os.path.join(board_tree, "lib")])
    assert r.stdout.strip() == "ugate.app", r.stdout + r.stderr


@pytest.fixture
def board_with(tmp_path, monkeypatch):
    """board_with(mpy_cross_args) -> the name of a board file using them."""
    boards = tmp_path / "boards"
    boards.mkdir()
    monkeypatch.setattr(build, "BOARDS", str(boards))

    def make(args):
        (boards / "test.json").write_text(json.dumps({"name": "test", "mpy_cross_args": args}))
        return "test"
    return make


def test_board_mpy_cross_args_reach_mpy_cross(board_tree, board_with, tmp_path):
    out = build.build(board_with(["-X", "no-source-lines"]), str(tmp_path / "out"))
    plain = read(os.path.join(board_tree, "lib", "ugate", "app.mpy"))
    assert len(read(os.path.join(out, "lib", "ugate", "app.mpy"))) < len(plain)


def test_build_names_the_file_mpy_cross_refused(board_with, tmp_path):
    with pytest.raises(build.BuildError, match=r"^mpy-cross .*\.py: refused the options -march=z80"):
        build.build(board_with(["-march=z80"]), str(tmp_path / "out"))


def test_build_refuses_an_unknown_board():
    r = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "build.py"), "--board", "esp8266"],
                       capture_output=True, text=True)
    assert r.returncode == 2
    assert "unknown board 'esp8266' (known: esp32, esp32s3, pico_w)" in r.stderr


def test_freeze_manifest_names_existing_files(board_tree):
    """firmware/manifest.py run with MicroPython's manifest functions
    recorded: every package and module it names exists, and it freezes the
    same modules the build compiles."""
    calls = []

    def package(path, files=None, base_path="."):
        calls.append(("package", path, files, base_path))

    def module(path, base_path="."):
        calls.append(("module", path, None, base_path))

    here = os.getcwd()
    os.chdir(os.path.join(ROOT, "firmware"))  # MicroPython runs a manifest from its directory
    try:
        exec(read("manifest.py"), {"include": lambda path: calls.append(("include", path, None, None)),
                                   "package": package, "module": module, "options": NoOptions()})
        frozen = set()
        for kind, path, names, base in calls:
            if kind == "package":
                for name in names or [os.path.relpath(os.path.join(d, f), os.path.join(base, path))
                                      for d, _, fs in os.walk(os.path.join(base, path)) for f in fs
                                      if f.endswith(".py")]:
                    assert os.path.isfile(os.path.join(base, path, name)), name
                    frozen.add(os.path.join(path, name))
            elif kind == "module":
                assert os.path.isfile(os.path.join(base, path)), path
                frozen.add(path)
    finally:
        os.chdir(here)
    assert calls[0] == ("include", "$(PORT_DIR)/boards/manifest.py", None, None)
    # Every module of the tree: lib/ and the flash root's (board_boot).
    assert frozen == {f[len("lib/"):-len(".mpy")] + ".py" for f in files(board_tree)
                      if f.startswith("lib/") and f.endswith(".mpy")} | {
        f[:-len(".mpy")] + ".py" for f in files(board_tree) if "/" not in f and f.endswith(".mpy")}


@pytest.mark.parametrize("port, board, define", [
    ("esp32", "ESP32_GENERIC_S3", "#define MICROPY_VFS_ROM (1)"),
    ("rp2", "RPI_PICO_W", "#define MICROPY_HW_ROMFS_BYTES (320 * 1024)"),
])
def test_romfs_board_recipe_adds_a_romfs_partition_to_a_board(tmp_path, port, board, define):
    """firmware/romfs_board.sh (firmware/Dockerfile's INSTALL=romfs) on a
    port's board directory as MicroPython's checkout has it: a board of
    its own, the same plus ROMFS and its partition. (The firmware is not
    built here: README "Firmware recipes".)"""
    port_dir = tmp_path / "ports" / port
    (port_dir / "boards" / board).mkdir(parents=True)
    (port_dir / "boards" / board / "mpconfigboard.h").write_text('#define MICROPY_HW_BOARD_NAME "x"\n')
    (port_dir / "boards" / board / "mpconfigboard.cmake").write_text("set(IDF_TARGET esp32s3)\n")
    kb = 512 if port == "esp32" else 320
    subprocess.run(["sh", os.path.join(ROOT, "firmware", "romfs_board.sh"), str(port_dir), board, str(kb)],
                   check=True)
    made = port_dir / "boards" / "UGATE_ROMFS"
    assert (made / "mpconfigboard.h").read_text() == '#define MICROPY_HW_BOARD_NAME "x"\n' + define + "\n"
    assert (port_dir / "boards" / board / "mpconfigboard.h").read_text().count("\n") == 1  # BOARD as it was
    if port == "esp32":
        rows = [[c.strip() for c in line.split(",")[:5]]
                for line in (made / "partitions-romfs.csv").read_text().splitlines()]
        assert rows[-1] == ["romfs", "data", "0x8f", "0x200000", str(512 * 1024)]
        factory = rows[-2]
        assert int(factory[3], 16) + int(factory[4], 16) <= 0x200000  # the app ends before ROMFS begins
        assert (made / "sdkconfig.romfs").read_text() == 'CONFIG_PARTITION_TABLE_CUSTOM_FILENAME="{}"\n'.format(
            made / "partitions-romfs.csv")
        assert (made / "mpconfigboard.cmake").read_text().endswith(
            "list(APPEND SDKCONFIG_DEFAULTS {})\n".format(made / "sdkconfig.romfs"))


# flash (offline: no board here)

def esp_image(chip_id):
    """The smallest image esptool's image-info reads: header, extended header
    with the chip id, one segment, checksum."""
    data = bytes(16)
    head = struct.pack("<BBBBI", 0xE9, 1, 2, 0x20, 0x40080000)
    head += struct.pack("<B3sHBHH4sB", 0xEE, bytes(3), chip_id, 0, 0, 0xFFFF, bytes(4), 0)
    head += struct.pack("<II", 0x3FFB0000, len(data)) + data
    return head + bytes(15 - len(head) % 16) + bytes([0xEF])


@pytest.fixture
def images(tmp_path):
    paths = {}
    for name, chip_id in (("esp32", 0), ("esp32s3", 9)):
        paths[name] = str(tmp_path / (name + ".bin"))
        with open(paths[name], "wb") as f:
            f.write(esp_image(chip_id))
    return paths


@pytest.mark.parametrize("board, offset", [("esp32", "0x1000"), ("esp32s3", "0x0")])
def test_flash_erases_then_writes_at_the_board_offset(images, board, offset):
    method, steps = flash.plan(board, images[board], "/dev/ttyUSB0")
    common = ["--chip", board, "--port", "/dev/ttyUSB0", "--baud", "460800"]
    assert method == "esptool"
    assert steps == [common + ["erase-flash"], common + ["write-flash", offset, images[board]]]


def test_flash_dry_run_prints_the_commands(images):
    r = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "flash.py"), "--board", "esp32",
                        "--firmware", images["esp32"], "--port", "/dev/ttyUSB0", "--dry-run"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [
        "esptool --chip esp32 --port /dev/ttyUSB0 --baud 460800 erase-flash",
        "esptool --chip esp32 --port /dev/ttyUSB0 --baud 460800 write-flash 0x1000 " + images["esp32"]]


def test_flash_pico_w_prints_uf2_steps(tmp_path):
    uf2 = tmp_path / "RPI_PICO_W.uf2"
    uf2.write_bytes(b"UF2\n")
    method, text = flash.plan("pico_w", str(uf2))
    assert method == "uf2" and "BOOTSEL" in text and str(uf2) in text


@pytest.mark.parametrize("board, firmware, message", [
    ("esp8266", "esp32", "unknown board 'esp8266'"),
    ("esp32", "missing", "no firmware file"),
    ("esp32s3", "esp32", "is an image for ESP32, not esp32s3"),
    ("esp32", "junk", "is not an ESP firmware image"),
    ("pico_w", "esp32", "takes a .uf2 image"),
])
def test_flash_refuses_before_touching_the_board(images, tmp_path, board, firmware, message):
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"not an image at all")
    path = {"esp32": images["esp32"], "junk": str(junk), "missing": str(tmp_path / "nope.bin")}[firmware]
    r = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "flash.py"), "--board", board,
                        "--firmware", path, "--port", "/dev/ttyUSB0"], capture_output=True, text=True)
    assert r.returncode == 2 and r.stdout == ""  # no esptool command was run
    assert r.stderr.startswith("error: ") and message in r.stderr


def test_flash_needs_a_port_for_esptool(images):
    with pytest.raises(flash.FlashError, match="--port is required"):
        flash.plan("esp32", images["esp32"])


# deploy, to the unix port on a pty

def mpremote(board, *args):
    r = subprocess.run([os.path.join(BIN, "mpremote"), "connect", board.device, "resume"] + list(args),
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


def get_when_listening(url, token, timeout=20):
    deadline = time.time() + timeout
    while True:
        try:
            return httpx.get(url, headers={"Authorization": "Bearer " + token}, timeout=5)
        except httpx.TransportError:
            if time.time() > deadline:
                raise
            time.sleep(0.1)


def test_deploy_copies_the_tree_and_files_and_the_board_serves(tmp_path, board_tree):
    flash_root = tmp_path / "flash"
    flash_root.mkdir()
    (tmp_path / "config.json").write_text(json.dumps({"location_name": "Shed"}))
    (tmp_path / "wifi.json").write_text(json.dumps({"ssid": "home", "password": "secret"}))
    with PtyBoard(str(flash_root)) as board:
        r = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "deploy.py"), "--port", board.device,
                            "--config", str(tmp_path / "config.json"), "--wifi", str(tmp_path / "wifi.json"),
                            "--token", "--resume", "--no-reset"], capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stdout + r.stderr
        token = r.stdout.splitlines()[-1]
        # The unix port has no ROMFS partition: lib/ goes to the filesystem,
        # and mpremote's report of each copy is shown.
        assert r.stdout.startswith("installing ugate as .mpy files in /lib\n")
        assert "/main.py :.\n" in r.stdout
        tree = [f for f in files(board_tree) if f not in (build.ROMFS_IMAGE, update_bundle.FILE_NAME)]
        assert files(str(flash_root)) == sorted(tree + [
            "ugate-data/auth.json", "ugate-data/boot.json", "ugate-data/config.json", "ugate-data/wifi.json"])
        for name in tree:
            assert read(os.path.join(flash_root, name)) == read(os.path.join(board_tree, name)), name
        assert token not in (flash_root / "ugate-data" / "auth.json").read_text()  # stored hashed
        # The board runs what landed: main.py with the deployed config and token.
        port = free_port()
        mpremote(board, "exec", "--no-follow", "import sys; sys.argv[:] = ['main.py', '--config-dir', "
                 "'ugate-data', '--host', '127.0.0.1', '--port', '{}']; import main".format(port))
        res = get_when_listening("http://127.0.0.1:{}/api/config".format(port), token)
        assert res.status_code == 200
        assert res.json()["location_name"] == "Shed"


def test_deploy_refuses_a_bad_config_before_copying(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"server_port": "eighty"}))
    flash_root = tmp_path / "flash"
    flash_root.mkdir()
    with PtyBoard(str(flash_root)) as board:
        r = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "deploy.py"), "--port", board.device,
                            "--config", str(tmp_path / "config.json"), "--resume"],
                           capture_output=True, text=True, timeout=120)
    assert r.returncode == 2
    assert r.stderr.startswith("error: {}: key 'server_port'".format(tmp_path / "config.json")), r.stderr
    assert files(str(flash_root)) == []


def test_deploy_to_frozen_firmware_copies_no_library(tmp_path, board_tree):
    staging = tmp_path / "ugate-data"
    staging.mkdir()
    argv = deploy.commands("/dev/ttyUSB0", board_tree, str(staging), frozen=True)
    assert argv[1:] == ["connect", "/dev/ttyUSB0", "cp", "-r"] + [
        os.path.join(board_tree, n) for n in ("main.py", "boot.py", "board.json")] + [":.", "+", "reset"]


def test_deploy_to_a_romfs_partition_writes_the_image_and_no_library(tmp_path, board_tree):
    staging = tmp_path / "ugate-data"
    staging.mkdir()
    argv = deploy.commands("/dev/ttyUSB0", board_tree, str(staging), romfs=True)
    assert argv[1:] == ["connect", "/dev/ttyUSB0", "romfs", "deploy", os.path.join(board_tree, "romfs.img"),
                        "+", "cp", "-r"] + [os.path.join(board_tree, n) for n in (
                            "main.py", "boot.py", "board.json", "board_boot.mpy", "board_rom.mpy")] + [
                            ":.", "+", "reset"]


def test_deploy_romfs_refuses_a_board_without_a_romfs_partition(tmp_path, board_tree):
    with PtyBoard(str(tmp_path)) as board:
        assert deploy.romfs_size(board.device, resume=True) == 0
        assert deploy.use_romfs("auto", board.device, board_tree, resume=True) is False
        with pytest.raises(deploy.DeployError, match=r"^the ROMFS image \(\d+ bytes\) needs a ROMFS partition "
                           r"of at least that size; the board has none"):
            deploy.use_romfs("romfs", board.device, board_tree, resume=True)


def test_deploy_refuses_a_wifi_file_without_credentials(tmp_path):
    (tmp_path / "wifi.json").write_text(json.dumps({"ssid": "home"}))
    with pytest.raises(deploy.DeployError, match='expected {"ssid": "...", "password": "..."}'):
        deploy.stage(str(tmp_path / "staging"), wifi=str(tmp_path / "wifi.json"))


# bench

def test_bench_prints_its_table_for_both_runtimes():
    r = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "bench.py"), "--posts", "3",
                        "--entities", "2", "--gets", "2", "--lines", "3", "--events", "2", "--clients", "1"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "| runtime | workload | ops | seconds | ops/s | peak heap |"
    rows = [line.strip("|").split("|") for line in lines[2:]]
    assert [(c[0].strip(), c[1].strip()) for c in rows] == [
        (rt, w.__name__) for rt in bench.RUNTIMES for w in bench.WORKLOADS]
    assert [c[2].strip() for c in rows] == ["3", "2", "3", "2"] * 2
    heaps = [c[5].strip() for c in rows]
    assert heaps[:4] == ["-"] * 4 and all(h.endswith(" KB") for h in heaps[4:])


def test_bench_mqtt_prints_its_table_for_both_runtimes():
    r = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "bench_mqtt.py"), "--gateways", "1",
                        "--gateways", "2", "--rounds", "2", "--entities", "3"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "| runtime | gateways | readings | delivered | seconds | readings/s |"
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in lines[2:]]
    assert [(c[0], c[1], c[2], c[3]) for c in rows] == [
        (rt, n, r, r) for rt in bench.RUNTIMES for n, r in (("1", "6"), ("2", "12"))]
