"""Never lose data: every rejected build leaves --out as it was; inputs stay inside their folder."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from PIL import Image

from vcr_wiki.builder.builder import build_dataset
from vcr_wiki.builder.sample import BuildConfig
from vcr_wiki.cli import main
from vcr_wiki.demo.sample_data import write_sample_pairs


def _tree(root: Path) -> dict[str, str]:
    """Every file under ``root`` with the SHA-256 of its bytes."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _build(pairs: Path, out: Path, *extra: str) -> int:
    return main(["build", "--input", str(pairs), "--out", str(out), "--lang", "en", "--difficulty", "easy",
                 "--seed", "0", "--nlp", "regex", "--shard-size", "2", "--no-progress", *extra])  # fmt: skip


@pytest.fixture(scope="module")
def pairs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_sample_pairs(tmp_path_factory.mktemp("in"), "en", limit=6)


@pytest.fixture(scope="module")
def finished(pairs: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("ds") / "DS"
    assert _build(pairs, out) == 0 and len(list((out / "data").iterdir())) == 3
    return out


@pytest.mark.parametrize(
    "extra",
    [
        ["--n", "0"],
        ["--mask-p", "2"],
        ["--shards", "5:2"],
        ["--font", "__PNG__"],
        ["--workers", "0"],
        [],  # no --resume / --overwrite: a dataset is never replaced silently
        ["--resume", "--seed", "1"],  # another configuration
        ["--resume", "--overwrite"],
    ],
)
def test_rejected_rebuild_leaves_the_dataset_byte_identical(
    pairs: Path, finished: Path, extra: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    before = _tree(finished)
    if "__PNG__" in extra:
        extra = [str(pairs.parent / "images" / "en-000.png") if e == "__PNG__" else e for e in extra]
    assert _build(pairs, finished, *extra) == 2
    err = capsys.readouterr().err
    assert err.startswith("vcr-wiki build: error: ") and err.count("\n") == 1 and "Traceback" not in err
    assert _tree(finished) == before and not (finished / "_state").exists()


def test_bad_arguments_create_nothing(
    pairs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for extra in (["--mask-p", "2"], ["--shards", "5:2"], ["--n", "0"]):
        assert _build(pairs, tmp_path / "new", *extra) == 2
        assert not (tmp_path / "new").exists()
    (tmp_path / "file").write_text("x")
    assert _build(pairs, tmp_path / "file" / "sub") == 2
    assert "not a folder" in capsys.readouterr().err


def test_a_folder_with_other_files_is_refused(pairs: Path, tmp_path: Path) -> None:
    out = tmp_path / "DS"
    (out / "data").mkdir(parents=True)
    (out / "data" / "precious.txt").write_text("keep me")
    for extra in ([], ["--overwrite"], ["--resume"]):
        assert _build(pairs, out, *extra) == 2
    assert (out / "data" / "precious.txt").read_text() == "keep me" and len(_tree(out)) == 1
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.md").write_text("x")
    assert _build(pairs, other, "--overwrite") == 2 and _tree(other) == {"notes.md": _tree(other)["notes.md"]}


def test_overwrite_builds_beside_and_swaps_at_the_end(pairs: Path, finished: Path, tmp_path: Path) -> None:
    out = tmp_path / "DS"
    assert _build(pairs, out) == 0
    before = _tree(out)
    script = textwrap.dedent(
        f"""
        import os
        from vcr_wiki.cli import main
        from vcr_wiki.builder.sample import SampleMaker
        real = SampleMaker.rows
        def rows(self, pairs):
            if any(pair.index == 3 for pair in pairs):
                os._exit(9)
            return real(self, pairs)
        SampleMaker.rows = rows
        main(["build", "--input", {str(pairs)!r}, "--out", {str(out)!r}, "--seed", "5", "--shard-size", "2",
              "--nlp", "regex", "--overwrite", "--no-progress"])
        """
    )
    assert subprocess.run([sys.executable, "-c", script], timeout=120).returncode == 9
    # the killed replacement was built in a sibling staging folder with its own marker: DS is untouched
    assert _tree(out) == before
    (staging,) = tmp_path.glob(".DS.vcr-wiki-staging-*")
    assert json.loads((staging / ".vcr-wiki-run.json").read_text())["kind"] == "build"
    assert _build(pairs, out, "--seed", "5", "--resume") == 2  # DS holds seed 0: not the killed build
    assert _build(pairs, out, "--seed", "5", "--overwrite") == 0
    assert not staging.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["DS"]
    assert not (out / "_state").exists()
    assert json.loads((out / "manifest.json").read_text())["config"]["seed"] == 5
    assert _build(pairs, out, "--seed", "5", "--resume") == 0  # finished and identical: nothing to do


def test_paths_outside_the_input_folder_are_not_built(tmp_path: Path) -> None:
    inner = tmp_path / "in"
    pairs = write_sample_pairs(inner, "en", limit=4)
    outside = tmp_path / "x.png"
    Image.new("RGB", (300, 200), "gray").save(outside)
    (inner / "images" / "link.png").symlink_to(outside)
    os.mkfifo(inner / "images" / "fifo.png")
    rows = pairs.read_text().splitlines()
    caption = json.loads(rows[0])["caption"]
    rows += [json.dumps({"image": p, "caption": caption}) for p in
             ("../x.png", str(outside), "images/link.png", "images/fifo.png")]  # fmt: skip
    pairs.write_text("\n".join(rows) + "\n")
    m = build_dataset(pairs, tmp_path / "a", BuildConfig(seed=0), progress=False)  # the FIFO must not block
    assert m["rows_out"] == 4 and m["dropped"] == {"bad_image": 1, "outside_input": 3}
    assert (
        main(["build", "--input", str(pairs), "--out", str(tmp_path / "s"), "--strict", "--no-progress"]) == 2
    )
    assert not (tmp_path / "s").exists()
    spec_out = tmp_path / "b"
    assert _build(pairs, spec_out, "--allow-outside-paths") == 0
    assert json.loads((spec_out / "manifest.json").read_text())["rows_out"] == 7


def test_undecodable_lines_are_reported_with_their_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pairs = write_sample_pairs(tmp_path / "in", "en", limit=3)
    lines = pairs.read_bytes().splitlines()
    lines.insert(1, b'{"image": "images/en-000.png", "caption": "caf\xe9 au lait"}')
    pairs.write_bytes(b"\n".join(lines) + b"\n")
    assert _build(pairs, tmp_path / "a") == 0
    captured = capsys.readouterr()
    assert "line 2 is not valid UTF-8" in captured.err
    assert json.loads((tmp_path / "a" / "manifest.json").read_text())["dropped"] == {"bad_encoding": 1}
    assert _build(pairs, tmp_path / "b", "--strict") == 2
    assert "line 2" in capsys.readouterr().err and not (tmp_path / "b").exists()


def test_resume_refuses_changed_image_bytes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pairs = write_sample_pairs(tmp_path / "in", "en", limit=4)
    out = tmp_path / "DS"
    assert _build(pairs, out, "--shards", "0:1") == 0
    Image.new("RGB", (300, 200), "red").save(tmp_path / "in" / "images" / "en-001.png")
    before = _tree(out)
    assert _build(pairs, out, "--resume") == 2
    assert "changed" in capsys.readouterr().err and _tree(out) == before


def test_an_interrupted_swap_is_completed_by_the_next_run(
    pairs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import vcr_wiki.builder.builder as builder

    out = tmp_path / "DS"
    assert _build(pairs, out) == 0
    real_replace = os.replace

    def crash_after_first_move(src, dst):  # DS is moved aside, then the process dies
        real_replace(src, dst)
        if ".vcr-wiki-old-" in Path(dst).name:
            raise KeyboardInterrupt

    monkeypatch.setattr(builder.os, "replace", crash_after_first_move)
    with pytest.raises(KeyboardInterrupt):
        build_dataset(pairs, out, BuildConfig(seed=9, shard_size=2), overwrite=True, progress=False)
    monkeypatch.setattr(builder.os, "replace", real_replace)
    assert not out.exists() and len(list(tmp_path.glob(".DS.vcr-wiki-*"))) == 2
    m = build_dataset(pairs, out, BuildConfig(seed=9, shard_size=2), resume=True, progress=False)
    assert m["complete"] and not (out / "_state").exists()
    assert json.loads((out / "manifest.json").read_text())["config"]["seed"] == 9
    assert len(list((out / "data").glob("*.parquet"))) == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["DS"]
