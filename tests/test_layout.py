"""The import rules of the core, so its shape cannot drift back: readings flow
sources -> hub -> faces, and the tree shows it.

- `base/` (runtime shims, small utilities) imports nothing else of ugate;
- `hub/` imports only `base` and itself: no HTTP, no source, no face;
- `http/` imports `base`, `hub` and itself;
- a source imports no face;
- a face imports no other face and no source.
Only the top (`ugate/__init__.py`, `app.py`, `config.py`) puts them together.
"""
import ast
import os

from conftest import ROOT

CORE = os.path.join(ROOT, "shared", "ugate")

#: The layers each layer may import (besides the `ugate` package's constants).
ALLOWED = {
    "base": {"base"},
    "hub": {"base", "hub"},
    "http": {"base", "hub", "http"},
    "sources": {"base", "hub", "http", "sources"},
    "faces": {"base", "hub", "http"},  # and the face's own modules
}


def modules():
    for folder, _, files in os.walk(CORE):
        for name in files:
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                rel = os.path.relpath(path, os.path.dirname(CORE))[:-3].split(os.sep)
                if rel[-1] == "__init__":
                    rel = rel[:-1]
                yield ".".join(rel), path


def imported(path):
    """The ugate modules a file imports, as dotted names."""
    with open(path) as f:
        tree = ast.parse(f.read())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                # `from ugate.x import y`: y is a module or a name in ugate.x.
                full = node.module + "." + alias.name
                is_module = any(os.path.exists(os.path.join(ROOT, "shared", *full.split(".")) + ext)
                                for ext in (".py", "/__init__.py"))
                yield full if is_module else node.module


def place(module):
    """(layer, unit): the layer of a ugate module, and for faces which face."""
    parts = module.split(".")
    if len(parts) < 2 or parts[1] not in ("base", "hub", "http", "sources", "faces"):
        return "top", None
    return parts[1], parts[2] if parts[1] == "faces" and len(parts) > 2 else None


def test_every_layer_imports_only_what_it_may():
    broken = []
    for module, path in modules():
        layer, face = place(module)
        if layer == "top":
            continue
        for target in imported(path):
            if not target.startswith("ugate.") and target != "ugate":
                continue
            target_layer, target_face = place(target)
            if target_layer == "top":
                ok = target == "ugate"  # the package's version constants
            elif layer == "faces" and target_layer == "faces":
                ok = target_face == face
            else:
                ok = target_layer in ALLOWED[layer]
            if not ok:
                broken.append("{} imports {}".format(module, target))
    assert broken == []


def test_the_rules_see_every_layer():
    # A rule that matches no module guards nothing.
    layers = {place(module)[0] for module, _ in modules()}
    assert layers == {"top", "base", "hub", "http", "sources", "faces"}
    faces = {place(module)[1] for module, _ in modules() if place(module)[0] == "faces"}
    assert {"homeassistant", "hono"} <= faces
