"""Every module of the shared core compiles with mpy-cross and imports under
the real MicroPython unix port, so CPython-only code in shared/ugate fails
here first."""
import os
import subprocess

import pytest

from conftest import MPY_CROSS, ROOT, run_interpreter
from ugate_host.cli import micropython_path

CORE = os.path.join(ROOT, "shared", "ugate")
MODULES = sorted(
    os.path.relpath(os.path.join(d, f), os.path.join(ROOT, "shared"))[:-3].replace(os.sep, ".").replace(".__init__", "")
    for d, _, files in os.walk(CORE) for f in files if f.endswith(".py"))


@pytest.fixture(scope="module")
def mpy_tree(tmp_path_factory):
    """shared/ugate compiled to .mpy, the way a board receives it."""
    out = tmp_path_factory.mktemp("mpy")
    for module in MODULES:
        rel = module.replace(".", os.sep)
        src = os.path.join(ROOT, "shared", rel + ".py")
        if not os.path.exists(src):
            rel = os.path.join(rel, "__init__")
            src = os.path.join(ROOT, "shared", rel + ".py")
        dst = os.path.join(out, rel + ".mpy")
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        r = subprocess.run([MPY_CROSS, "-o", dst, src], capture_output=True, text=True)
        assert r.returncode == 0, "{}: {}".format(src, r.stderr)
    return out


def test_core_has_modules():
    assert "ugate.app" in MODULES and "ugate.http.server" in MODULES


@pytest.mark.parametrize("module", MODULES)
def test_module_compiles_and_imports_on_micropython(mpy_tree, module):
    # Only the compiled tree and Microdot are on the path: no .py of the core.
    site = micropython_path().split(":")[-1]
    r = run_interpreter("micropython", ["-c", "import {}; print('ok')".format(module)], path=[str(mpy_tree), site])
    assert r.stdout.strip() == "ok", r.stdout + r.stderr
