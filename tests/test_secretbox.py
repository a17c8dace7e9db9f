"""The pure-Python secretbox (ugate.base.secretbox) against PyNaCl, byte for
byte, on both runtimes: random keys, nonces and lengths (empty, one byte,
block edges, multi-block), and boxes with a changed tag, ciphertext or
nonce, or opened with another key, refused."""
import json
import os

import nacl.secret
import pytest

from conftest import run_core
from ugate.base import secretbox

LENGTHS = [0, 1, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 129, 300, 1000, 4096 + 7]


def vectors():
    out = []
    for n in LENGTHS:
        key, nonce, message = os.urandom(32), os.urandom(24), os.urandom(n)
        box = bytes(nacl.secret.SecretBox(key).encrypt(message, nonce))
        out.append([key.hex(), nonce.hex(), message.hex(), box.hex()])
    return out


# Runs on either runtime: seals and opens each vector with the pure
# version, tampers with each part of the box, and counts the tag
# comparisons made by compat.equal (the constant-time comparison).
CHECK = """
import binascii, json
from ugate.base import compat, secretbox
compared = []
_equal = compat.equal
def counting_equal(a, b):
    compared.append(1)
    return _equal(a, b)
compat.equal = counting_equal
h = binascii.unhexlify
def refused(key, box):
    try:
        secretbox.pure_decrypt(key, box)
    except secretbox.CryptoError:
        return True
    return False
results = []
for key, nonce, message, box in json.loads({vectors!r}):
    key, nonce, message, box = h(key), h(nonce), h(message), h(box)
    sealed = secretbox.pure_encrypt(key, message, nonce)
    opened = secretbox.pure_decrypt(key, box)
    flip = lambda data, i: data[:i] + bytes([data[i] ^ 1]) + data[i + 1:]
    tampered = [refused(key, flip(box, 24)), refused(key, flip(box, 39)),
                refused(key, flip(box, 0)), refused(key, box[:-1] if message else box[:39]),
                refused(bytes(32), box)]
    if message:
        tampered.append(refused(key, flip(box, len(box) - 1)))
    results.append([sealed == box, opened == message, all(tampered)])
print(json.dumps([results, len(compared)]))
"""


@pytest.mark.parametrize("runtime", ["cpython", "micropython"])
def test_pure_secretbox_matches_pynacl(runtime):
    cases = vectors()
    results, compared = json.loads(run_core(runtime, CHECK.format(vectors=json.dumps(cases)),
                                            timeout=120))
    assert results == [[True, True, True]] * len(LENGTHS)
    # Every decryption compared its tag in constant time: 7 per vector (one
    # good, six tampered), 5 for the empty message (no last ciphertext byte
    # to flip; its cut-short box is refused for its length alone).
    assert compared == 7 * len(LENGTHS) - 2


def test_host_uses_pynacl_and_agrees_with_the_pure_version():
    # The host path (PyNaCl) and the pure path open each other's boxes.
    assert secretbox._Native is nacl.secret.SecretBox
    key = os.urandom(32)
    for n in (0, 300, 1000):
        message = os.urandom(n)
        assert secretbox.pure_decrypt(key, secretbox.encrypt(key, message)) == message
        assert secretbox.decrypt(key, secretbox.pure_encrypt(key, message, os.urandom(24))) == message
    with pytest.raises(secretbox.CryptoError):
        secretbox.decrypt(os.urandom(32), secretbox.encrypt(key, b"hello"))
    with pytest.raises(secretbox.CryptoError):
        secretbox.decrypt(key, b"short")


def test_nonces_are_fresh():
    key = os.urandom(32)
    assert secretbox.encrypt(key, b"same")[:24] != secretbox.encrypt(key, b"same")[:24]


def test_bench_prints_its_table():
    import subprocess
    import sys
    from conftest import ROOT
    r = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "secretbox_bench.py"),
                        "--sizes", "0,300", "--rounds", "1"], capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr
    rows = [line for line in r.stdout.splitlines() if line.startswith("| ") and " B |" in line]
    assert [row.split(" | ")[:2] for row in rows] == [
        ["| micropython (board tree), pure", "0 B"], ["| micropython (board tree), pure", "300 B"],
        ["| cpython, pure", "0 B"], ["| cpython, pure", "300 B"],
        ["| cpython, PyNaCl", "0 B"], ["| cpython, PyNaCl", "300 B"]]
