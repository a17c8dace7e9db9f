"""How long the pure-Python secretbox (ugate.base.secretbox) takes to seal
and open a phone's webhook payload, printed as a table: on the MicroPython
unix port from the compiled board tree (what a board runs), and on CPython
for the pure version and for PyNaCl (what the host uses).

    python tools/secretbox_bench.py [--sizes 300,1000] [--rounds 20]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

TOOLS = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, TOOLS)
import build  # noqa: E402  (tools/build.py)

MICROPYTHON = os.path.join(os.path.dirname(sys.executable), "micropython")

# Runs on either interpreter: the mean milliseconds of pure_encrypt and
# pure_decrypt per size (the nonce and key fixed; they do not change the work).
CODE = """
import json, time
from ugate.base import secretbox
try:
    ticks, diff = time.ticks_us, time.ticks_diff
except AttributeError:
    ticks, diff = lambda: time.perf_counter_ns() // 1000, lambda a, b: a - b
key, nonce = bytes(range(32)), bytes(range(24))
out = []
for size in {sizes!r}:
    message = bytes(i % 251 for i in range(size))
    start = ticks()
    for _ in range({rounds}):
        box = secretbox.{encrypt}(key, message, nonce)
    sealed = diff(ticks(), start) / {rounds} / 1000
    start = ticks()
    for _ in range({rounds}):
        assert secretbox.{decrypt}(key, box) == message
    opened = diff(ticks(), start) / {rounds} / 1000
    out.append([size, sealed, opened])
print(json.dumps(out))
"""


def run(argv, code, env=None):
    r = subprocess.run(argv + ["-c", code], capture_output=True, text=True, env=env, timeout=300)
    if r.returncode:
        raise RuntimeError(r.stderr or r.stdout)
    return json.loads(r.stdout)


def main(argv=None):
    p = argparse.ArgumentParser(description="Time the pure-Python secretbox on MicroPython (the "
                                "compiled board tree) and on CPython, against PyNaCl.")
    p.add_argument("--sizes", default="0,300,1000,4000", help="payload sizes in bytes")
    p.add_argument("--rounds", type=int, default=20, help="seals and opens per size")
    opts = p.parse_args(argv)
    sizes = [int(s) for s in opts.sizes.split(",")]
    pure = dict(sizes=sizes, rounds=opts.rounds, encrypt="pure_encrypt", decrypt="pure_decrypt")
    native = dict(pure, encrypt="encrypt", decrypt="decrypt")
    rows = []
    with tempfile.TemporaryDirectory() as workdir:
        tree = build.build("esp32", os.path.join(workdir, "build"))
        env = dict(os.environ, MICROPYPATH=".frozen:" + os.path.join(tree, "lib"))
        rows += [("micropython (board tree), pure",) + tuple(r)
                 for r in run([MICROPYTHON], CODE.format(**pure), env)]
    rows += [("cpython, pure",) + tuple(r) for r in run([sys.executable], CODE.format(**pure))]
    rows += [("cpython, PyNaCl",) + tuple(r) for r in run([sys.executable], CODE.format(**native))]
    print("| runtime | payload | seal | open |")
    print("|---|---:|---:|---:|")
    for name, size, sealed, opened in rows:
        print("| {} | {} B | {:.2f} ms | {:.2f} ms |".format(name, size, sealed, opened))
    return 0


if __name__ == "__main__":
    sys.exit(main())
