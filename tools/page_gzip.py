"""Gzip the gateway's web page (shared/ugate/faces/page/*.html, .js, .css)
next to its sources, as `<name>.gz`, which the page face serves instead:

    python tools/page_gzip.py [--out DIR]

`make venv` runs it for the source tree; tools/build.py writes a board's
`.gz` files with `write(out_dir)`. The output is the same for the same input
(no time or name in the gzip header), and a file already up to date is left
alone, so running it again changes nothing.
"""
import argparse
import gzip
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PAGE = os.path.join(ROOT, "shared", "ugate", "faces", "page")
NAMES = ("index.html", "page.js", "page.css")


def compressed(name):
    with open(os.path.join(PAGE, name), "rb") as f:
        return gzip.compress(f.read(), compresslevel=9, mtime=0)


def write(out=PAGE):
    """Write `<name>.gz` for each page file into `out`; returns {name: (plain
    bytes, gzipped bytes)}."""
    sizes = {}
    os.makedirs(out, exist_ok=True)
    for name in NAMES:
        data = compressed(name)
        path = os.path.join(out, name + ".gz")
        try:
            with open(path, "rb") as f:
                same = f.read() == data
        except OSError:
            same = False
        if not same or os.path.getmtime(path) < os.path.getmtime(os.path.join(PAGE, name)):
            tmp = "{}.{}.tmp".format(path, os.getpid())  # two test workers may write at once
            with open(tmp, "wb") as f:
                f.write(data)
            os.replace(tmp, path)
        sizes[name] = (os.path.getsize(os.path.join(PAGE, name)), len(data))
    return sizes


def main(argv=None):
    p = argparse.ArgumentParser(description="Gzip the web page's files next to them (or into --out).")
    p.add_argument("--out", default=PAGE)
    args = p.parse_args(argv)
    total = [0, 0]
    for name, (plain, packed) in write(args.out).items():
        print("{:<12} {:>7} bytes, gzipped {:>6}".format(name, plain, packed))
        total[0] += plain
        total[1] += packed
    print("{:<12} {:>7} bytes, gzipped {:>6}".format("total", total[0], total[1]))


if __name__ == "__main__":
    main()
