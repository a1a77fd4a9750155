"""Local worker pools die with their parent; without Ray, --engine ray is one line and exit 2."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from vcr_wiki.cli import main
from vcr_wiki.demo.sample_data import write_sample_pairs


def _children(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    return [int(x) for x in out.split()]


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux only")
def test_workers_die_with_a_killed_parent(tmp_path: Path) -> None:
    pairs = write_sample_pairs(tmp_path / "in", "en", limit=8)
    out = tmp_path / "DS"
    script = textwrap.dedent(
        f"""
        import time
        from vcr_wiki.builder.sample import SampleMaker
        real = SampleMaker.rows
        def rows(self, pairs):
            time.sleep(2.0 * len(pairs))  # slow shards: the parent is killed while workers are busy
            return real(self, pairs)
        SampleMaker.rows = rows
        if __name__ == "__main__":
            from vcr_wiki.cli import main
            main(["build", "--input", {str(pairs)!r}, "--out", {str(out)!r}, "--shard-size", "2",
                  "--workers", "2", "--nlp", "regex", "--no-progress"])
        """
    )
    (tmp_path / "run.py").write_text(script)
    parent = subprocess.Popen([sys.executable, str(tmp_path / "run.py")], cwd=tmp_path)
    workers: list[int] = []
    deadline = time.time() + 60
    while time.time() < deadline and len(workers) < 2:
        time.sleep(0.2)
        workers = [c for c in _children(parent.pid) if "spawn_main" in Path(f"/proc/{c}/cmdline").read_text()]
    assert len(workers) >= 2, "the workers did not start"
    time.sleep(1.0)
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait()
    deadline = time.time() + 30  # a worker still importing at the kill exits once it starts (loaded CI)
    while time.time() < deadline and any(_alive(w) for w in workers):
        time.sleep(0.1)
    assert not any(_alive(w) for w in workers)
    assert not list((out / "_state" / "data").glob("*.parquet"))  # none wrote a shard after the kill
    time.sleep(2.5)
    assert not list((out / "_state" / "data").glob("*.parquet"))


def test_engine_ray_without_ray_is_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)
    pairs = write_sample_pairs(tmp_path / "in", "en", limit=2)
    rc = main(["build", "--input", str(pairs), "--out", str(tmp_path / "o"), "--engine", "ray"])
    err = capsys.readouterr().err
    assert rc == 2 and 'pip install "vcr-wiki[ray]"' in err and err.count("\n") == 1
    assert not (tmp_path / "o").exists()
