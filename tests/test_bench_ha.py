"""tools/bench_ha.py runs and prints its table: a tiny run against ugate on
both runtimes and the bare-Microdot ceiling (Home Assistant itself is
installed and run by `make bench-ha` only: it downloads it). No timing is
asserted."""
import json
import os
import subprocess
import sys

from conftest import ROOT


def test_bench_ha_prints_its_table_and_json(tmp_path):
    out = tmp_path / "bench.json"
    r = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "bench_ha.py"),
                        "--targets", "cpython,micropython,microdot-cpython,microdot-micropython",
                        "--rounds", "1", "--duration", "1", "--connections", "2", "--entities", "3",
                        "--subscribers", "2", "--changes", "5", "--settle", "0", "--json", str(out)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].startswith("| workload | cpython | micropython | microdot-cpython | cpython / ceiling |")
    rows = {line.split(" | ")[0][2:]: line for line in lines[2:]}
    assert set(rows) == {"post_new", "post_keep", "get_states", "get_state", "ws_fanout", "sse_fanout",
                         "startup", "rss"}
    assert "/s" in rows["post_new"] and "ev/s" in rows["ws_fanout"] and " MB" in rows["rss"]
    result = json.loads(out.read_text())
    for target in ("cpython", "micropython"):
        assert result["medians"][target]["get_states"] > 0
    assert result["medians"]["microdot-micropython"]["post_new"] > 0
    assert result["errors"] == []
