"""``build --overwrite`` stages the new dataset in a sibling folder with its own marker and swaps it in only
once finished; a local Ray instance stays on 127.0.0.1."""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest

from vcr_wiki.builder.builder import build_dataset
from vcr_wiki.builder.sample import BuildConfig, SampleMaker
from vcr_wiki.cli import main
from vcr_wiki.demo.sample_data import write_sample_pairs

MARKER = ".vcr-wiki-run.json"
BUILD_MARKER = json.dumps({"package": "vcr-wiki", "kind": "build", "version": "0"})


def _tree(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _build(pairs: Path, out: Path, *extra: str) -> int:
    return main(["build", "--input", str(pairs), "--out", str(out), "--seed", "0", "--nlp", "regex",
                 "--shard-size", "2", "--no-progress", *extra])  # fmt: skip


@pytest.fixture(scope="module")
def pairs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_sample_pairs(tmp_path_factory.mktemp("in"), "en", limit=4)


def test_overwrite_builds_in_a_marked_sibling_and_swaps_only_when_finished(
    pairs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "DS"
    assert _build(pairs, out) == 0
    before = _tree(out)
    seen: list[tuple[list[str], dict[str, str]]] = []
    real = SampleMaker.rows

    def rows(self: SampleMaker, batch: Any) -> Any:  # look around while the new build runs
        staging = sorted(tmp_path.glob(".DS.vcr-wiki-staging-*"))
        seen.append(([p.name for p in staging], _tree(out)))
        assert json.loads((staging[0] / MARKER).read_text())["kind"] == "build"
        return real(self, batch)

    monkeypatch.setattr(SampleMaker, "rows", rows)
    assert _build(pairs, out, "--seed", "4", "--overwrite") == 0
    assert seen and all(names == [f".DS.vcr-wiki-staging-{os.getpid()}"] for names, _ in seen)
    assert all(tree == before for _, tree in seen)  # the old dataset stays whole until the swap
    assert sorted(p.name for p in tmp_path.iterdir()) == ["DS"]
    assert json.loads((out / "manifest.json").read_text())["config"]["seed"] == 4
    assert json.loads((out / MARKER).read_text())["kind"] == "build"


def test_killed_staging_and_old_folders_are_removed_by_the_next_build(pairs: Path, tmp_path: Path) -> None:
    out = tmp_path / "DS"
    assert _build(pairs, out) == 0
    for name in (".DS.vcr-wiki-staging-99", ".DS.vcr-wiki-old-98"):  # left by killed runs
        (tmp_path / name / "_state").mkdir(parents=True)
        (tmp_path / name / MARKER).write_text(BUILD_MARKER)
    users = tmp_path / ".DS.vcr-wiki-staging-7"  # same name pattern, no marker: not ours
    users.mkdir()
    (users / "notes.md").write_text("mine")
    assert _build(pairs, out, "--seed", "2") == 2  # refused: leftovers stay until a build runs
    assert (tmp_path / ".DS.vcr-wiki-staging-99").exists()
    assert _build(pairs, out, "--seed", "2", "--overwrite") == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [".DS.vcr-wiki-staging-7", "DS"]
    assert (users / "notes.md").read_text() == "mine"


def test_a_swap_killed_before_the_new_dataset_was_finished_brings_the_old_one_back(
    pairs: Path, tmp_path: Path
) -> None:
    out = tmp_path / "DS"
    assert _build(pairs, out) == 0
    before = _tree(out)
    os.replace(out, tmp_path / ".DS.vcr-wiki-old-5")
    (tmp_path / ".DS.vcr-wiki-staging-5").mkdir()
    (tmp_path / ".DS.vcr-wiki-staging-5" / MARKER).write_text(BUILD_MARKER)  # unfinished
    assert _build(pairs, out, "--resume") == 0
    assert _tree(out) == before and sorted(p.name for p in tmp_path.iterdir()) == ["DS"]


def test_overwrite_with_a_partial_shard_range_is_refused(
    pairs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "DS"
    assert _build(pairs, out) == 0
    before = _tree(out)
    capsys.readouterr()
    assert _build(pairs, out, "--seed", "3", "--overwrite", "--shards", "0:1") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unfinished" in err
    assert _tree(out) == before and sorted(p.name for p in tmp_path.iterdir()) == ["DS"]


FAKE_RAY = """
import os
calls = {}
def is_initialized():
    return False
def init(**kwargs):
    calls.update(kwargs, env=os.environ.get("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"))
    raise RuntimeError("stop")
"""


def test_the_ray_engine_starts_a_loopback_instance(
    pairs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without --address: a new local instance (never a cluster found on the machine), node on 127.0.0.1,
    and Ray told before its import to keep it there (it rewrites 127.0.0.1 to the network address
    otherwise). A stand-in ``ray`` module records ``ray.init``'s arguments."""
    (tmp_path / "fake").mkdir()
    (tmp_path / "fake" / "ray.py").write_text(FAKE_RAY)
    monkeypatch.syspath_prepend(str(tmp_path / "fake"))
    monkeypatch.delitem(sys.modules, "ray", raising=False)
    monkeypatch.delenv("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", raising=False)
    try:
        with pytest.raises(RuntimeError, match="stop"):
            config = BuildConfig(seed=0, shard_size=2, nlp="regex")
            build_dataset(pairs, tmp_path / "r", config, engine="ray", progress=False)
        calls = sys.modules["ray"].calls  # type: ignore[attr-defined]
    finally:
        sys.modules.pop("ray", None)
        os.environ.pop("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", None)
    assert calls["address"] == "local" and calls["_node_ip_address"] == "127.0.0.1" and calls["env"] == "0"
