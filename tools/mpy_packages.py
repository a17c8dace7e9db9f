"""The MicroPython packages a board's build needs besides ugate and Microdot,
fetched from PyPI by pinned URL and sha256, never copied into the repository.

    python tools/mpy_packages.py       # fetch (once), check and unpack them

micropython.org and github.com (where `mip` installs from) are out of reach
for the machines that build ugate, so the packages come as PyPI source
archives. An archive is downloaded once into build/packages/, checked
against its sha256 (a mismatch is an error and the file is removed), and
the listed files are unpacked into build/packages/lib/: the directory
`ugate run --runtime micropython` puts on MICROPYPATH, and that
tools/build.py compiles into a board's lib/.
"""
import hashlib
import os
import sys
import tarfile
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CACHE = os.path.join(ROOT, "build", "packages")
#: What the firmware imports from here (on MICROPYPATH, in a board's lib/).
LIB = os.path.join(CACHE, "lib")


class Package:
    def __init__(self, name, url, sha256, files):
        self.name = name
        self.url = url
        self.sha256 = sha256
        #: {path in the archive: path under lib/}
        self.files = files

    @property
    def archive(self):
        return os.path.join(CACHE, self.url.rsplit("/", 1)[-1])


PACKAGES = [
    # umqtt.simple 1.3.4 (MIT), micropython-lib's MQTT client as published on
    # PyPI: a blocking client that firmware/mp_mqtt.py drives from asyncio.
    Package("micropython-umqtt.simple 1.3.4",
            "https://files.pythonhosted.org/packages/bd/cf/697e3418b2f44222b3e848078b1e33ee76aedca9b6c2430ca1b1aec1ce1d/"
            "micropython-umqtt.simple-1.3.4.tar.gz",
            "b6a2520239e3992c63a7de9370ee9b3d9d27819a90359c521f1c0f7ccab8d12f",
            {"micropython-umqtt.simple-1.3.4/umqtt/simple.py": "umqtt/simple.py"}),
    # micropython-mdns 1.8.0 (MIT): mDNS with DNS-SD service announcement for
    # MicroPython, the board's zeroconf (MicroPythonPlatform.advertise).
    Package("micropython-mdns 1.8.0",
            "https://files.pythonhosted.org/packages/ae/02/8fd4546f40dd8d046362ed03c435592da545f9702b94f9f0e4e249650c65/"
            "micropython_mdns-1.8.0.tar.gz",
            "ebdae77acebebf05a409074bc365f20de4ea40f9ebb19ed76904d3f3d4728866",
            {"micropython_mdns-1.8.0/mdns_client/" + f: "mdns_client/" + f for f in (
                "__init__.py",
                "client.py",
                "constants.py",
                "parser.py",
                "responder.py",
                "structs.py",
                "util.py",
                "service_discovery/__init__.py",
                "service_discovery/discovery.py",
                "service_discovery/service_monitor.py",
                "service_discovery/service_response.py",
                "service_discovery/txt_discovery.py",
            )}),
]


class PackageError(Exception):
    pass


def _sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(65536), b""):
            h.update(block)
    return h.hexdigest()


def _download(package):
    os.makedirs(CACHE, exist_ok=True)
    part = "{}.{}.part".format(package.archive, os.getpid())
    try:
        with urllib.request.urlopen(package.url, timeout=60) as answer, open(part, "wb") as f:
            f.write(answer.read())
    except OSError as exc:
        raise PackageError("cannot download {} from {}: {}".format(package.name, package.url, exc))
    os.replace(part, package.archive)


def _unpack(package):
    with tarfile.open(package.archive) as tar:
        for member, target in package.files.items():
            data = tar.extractfile(member).read()
            path = os.path.join(LIB, target)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            part = "{}.{}.part".format(path, os.getpid())  # builds may run side by side
            with open(part, "wb") as f:
                f.write(data)
            os.replace(part, path)


def ensure():
    """Every package downloaded, checked and unpacked; returns LIB."""
    for package in PACKAGES:
        if not os.path.exists(package.archive):
            _download(package)
        digest = _sha256(package.archive)
        if digest != package.sha256:
            os.remove(package.archive)
            raise PackageError("{}: sha256 {} is not the pinned {}; the download was removed".format(
                package.archive, digest, package.sha256))
        _unpack(package)  # again each time: a few KB, and never stale
    return LIB


def sources():
    """(path under lib/, file) of every unpacked module."""
    ensure()
    return [(target, os.path.join(LIB, target)) for p in PACKAGES for target in p.files.values()]


def main():
    try:
        ensure()
    except PackageError as exc:
        print("error: {}".format(exc), file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
