"""Issue 24: folders are owned by their marker only; every kind of bad path is one line, exit 2; the
default output serves upstream's consumers (split, question_id type, jieba as upstream's metric cuts)."""

from __future__ import annotations

import hashlib
import json
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from vcr_wiki.builder.sample import BuildConfig
from vcr_wiki.cli import main
from vcr_wiki.demo.sample_data import write_sample_pairs

MARKER = ".vcr-wiki-run.json"


def _tree(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _build(pairs: Path | str, out: Path, *extra: str) -> int:
    return main(["build", "--input", str(pairs), "--out", str(out), "--lang", "en", "--difficulty", "easy",
                 "--seed", "0", "--nlp", "regex", "--shard-size", "2", "--no-progress", *extra])  # fmt: skip


def _eval(dataset: Path, out: Path, *extra: str) -> int:
    return main(["eval", "--dataset", str(dataset), "--model", "oracle", "--out", str(out), "--bootstrap", "10",
                 "--tokenizer", "regex", "--no-progress", *extra])  # fmt: skip


def _one_line_error(capsys: pytest.CaptureFixture[str], command: str = "build") -> str:
    err = capsys.readouterr().err
    assert err.startswith(f"vcr-wiki {command}: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err
    return err


@pytest.fixture(scope="module")
def pairs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_sample_pairs(tmp_path_factory.mktemp("in"), "en", limit=4)


@pytest.fixture(scope="module")
def dataset(pairs: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("ds") / "DS"
    assert _build(pairs, out) == 0
    return out


@pytest.fixture
def alarm() -> Iterator[None]:
    """Turn a blocked call into a failure instead of a hung test run."""

    def fail(*_: object) -> None:
        raise TimeoutError("blocked")

    old = signal.signal(signal.SIGALRM, fail)
    signal.alarm(60)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)


# ---- build --out ------------------------------------------------------------------------------------


def test_build_writes_its_marker_and_refuses_its_folder_without_a_flag(
    pairs: Path, dataset: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    marker = json.loads((dataset / MARKER).read_text())
    assert marker["package"] == "vcr-wiki" and marker["kind"] == "build" and marker["version"]
    before = _tree(dataset)
    capsys.readouterr()
    assert _build(pairs, dataset) == 2
    assert "holds a build; pass --resume" in _one_line_error(capsys) and _tree(dataset) == before


def test_a_dataset_look_alike_without_the_marker_is_never_touched(
    pairs: Path, dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A user's copy of a dataset (manifest, card, shards) has no marker: refused even with a flag."""
    copy = tmp_path / "copy"
    for rel in _tree(dataset):
        if rel != MARKER:
            (copy / rel).parent.mkdir(parents=True, exist_ok=True)
            (copy / rel).write_bytes((dataset / rel).read_bytes())
    before = _tree(copy)
    for extra in ([], ["--overwrite"], ["--resume"]):
        assert _build(pairs, copy, "--seed", "7", *extra) == 2
        assert MARKER in _one_line_error(capsys)
    assert _tree(copy) == before


def test_a_build_killed_right_after_its_marker_resumes_or_is_overwritten(pairs: Path, tmp_path: Path) -> None:
    for flag in ("--resume", "--overwrite"):
        out = tmp_path / flag.strip("-")
        out.mkdir()
        (out / MARKER).write_text(json.dumps({"package": "vcr-wiki", "kind": "build", "version": "0"}))
        assert _build(pairs, out) == 2
        assert _build(pairs, out, flag) == 0
        assert json.loads((out / "manifest.json").read_text())["complete"]


def test_an_eval_folder_is_not_a_build_folder(
    pairs: Path, dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scores = tmp_path / "scores"
    assert _eval(dataset, scores) == 0
    before = _tree(scores)
    capsys.readouterr()
    assert _build(pairs, scores, "--overwrite") == 2
    assert "holds a vcr-wiki eval" in _one_line_error(capsys) and _tree(scores) == before
    assert _eval(dataset, dataset / "data") == 2  # a build's own folder is not an eval's either
    _one_line_error(capsys, "eval")


# ---- eval --out -------------------------------------------------------------------------------------


def test_eval_never_replaces_a_users_metrics_or_table(
    dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "mine"
    out.mkdir()
    (out / "metrics.json").write_text('{"mine": 1}\n')
    (out / "table.md").write_text("| my table |\n")
    before = _tree(out)
    for extra in ([], ["--fresh"]):
        assert _eval(dataset, out, *extra) == 2
        assert MARKER in _one_line_error(capsys, "eval")
    assert _tree(out) == before


def test_eval_predictions_keep_the_int_question_id_and_rerun_resumes(dataset: Path, tmp_path: Path) -> None:
    out = tmp_path / "scores"
    assert _eval(dataset, out) == 0
    lines = (out / "predictions-stacked.jsonl").read_text().splitlines()
    ids = [json.loads(line)["question_id"] for line in lines]
    assert ids == [0, 1, 2, 3] and all(type(i) is int for i in ids)
    assert json.loads((out / MARKER).read_text())["kind"] == "eval"
    assert _eval(dataset, out) == 0  # its own folder: resumed, nothing predicted again
    assert (out / "predictions-stacked.jsonl").read_text().splitlines() == lines
    assert json.loads((out / "metrics.json").read_text())["variants"]["stacked"]["timing"]["resumed"] == 4


def test_eval_of_a_killed_rebuild_scores_the_finished_dataset(
    pairs: Path, dataset: Path, tmp_path: Path
) -> None:
    """A swap stopped half-way leaves shards with the same question ids under ``_state/``."""
    out = tmp_path / "DS"
    assert _build(pairs, out) == 0
    (out / "_state" / "data").mkdir(parents=True)
    for shard in (out / "data").glob("*.parquet"):
        (out / "_state" / "data" / shard.name).write_bytes(shard.read_bytes())
    assert _eval(out, tmp_path / "scores") == 0
    metrics = json.loads((tmp_path / "scores" / "metrics.json").read_text())
    assert metrics["n_samples"] == 4 and metrics["exact_match"] == 100.0


def test_eval_of_a_killed_first_build_is_refused(
    pairs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "DS"
    assert _build(pairs, out, "--shards", "0:1") == 0  # one shard of two, only in _state/
    capsys.readouterr()
    assert _eval(out, tmp_path / "scores") == 2
    assert "build in progress" in _one_line_error(capsys, "eval")
    assert not (tmp_path / "scores").exists()


# ---- bad paths ----------------------------------------------------------------------------------------


def test_a_fifo_as_input_is_refused_without_blocking(
    tmp_path: Path, alarm: None, capsys: pytest.CaptureFixture[str]
) -> None:
    fifo = tmp_path / "pairs.jsonl"
    os.mkfifo(fifo)
    assert _build(fifo, tmp_path / "out") == 2
    assert "not a regular file" in _one_line_error(capsys) and not (tmp_path / "out").exists()


def test_a_pipe_that_cannot_be_read_twice_is_refused(
    pairs: Path, tmp_path: Path, alarm: None, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--input <(cat table)``: a /dev/fd path to a pipe; it used to build nothing and exit 0."""
    rows = [json.loads(line) for line in pairs.read_text().splitlines()]
    text = "".join(json.dumps(r | {"image": str(pairs.parent / r["image"])}) + "\n" for r in rows)
    read, write = os.pipe()
    os.write(write, text.encode())
    os.close(write)
    try:
        rc = _build(f"/dev/fd/{read}", tmp_path / "out", "--format", "jsonl", "--allow-outside-paths")
    finally:
        os.close(read)
    assert rc == 2 and "pipe" in _one_line_error(capsys) and not (tmp_path / "out").exists()


def test_image_paths_that_are_folders_loops_or_hold_nul_are_bad_rows(
    pairs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "in"
    table = write_sample_pairs(root, "en", limit=2)
    (root / "images" / "folder.png").mkdir()
    (root / "loop-a.png").symlink_to("loop-b.png")
    (root / "loop-b.png").symlink_to("loop-a.png")
    caption = json.loads(table.read_text().splitlines()[0])["caption"]
    with table.open("a") as fh:
        for name in ("images/folder.png", "loop-a.png", "bad\0name.png"):
            fh.write(json.dumps({"image": name, "caption": caption}) + "\n")
    assert _build(table, tmp_path / "out") == 0
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["rows_out"] == 2 and manifest["dropped"] == {"bad_image": 3}
    capsys.readouterr()
    assert _build(table, tmp_path / "strict", "--strict") == 2
    _one_line_error(capsys)
    assert not (tmp_path / "strict").exists()


# ---- engines ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--address", "127.0.0.1:6379"], "does nothing with --engine local"),
        (["--engine", "ray", "--workers", "2"], "--workers does nothing"),
        (["--engine", "ray", "--address", "127.0.0.1:1"], "no Ray cluster answers"),
        (["--engine", "ray", "--address", "not an address"], "HOST:PORT"),
    ],
)
def test_engine_options_are_checked_before_anything_is_created(
    pairs: Path, tmp_path: Path, extra: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _build(pairs, tmp_path / "out", *extra) == 2
    assert message in _one_line_error(capsys) and not (tmp_path / "out").exists()


# ---- consumers ---------------------------------------------------------------------------------------


def test_default_split_is_test(dataset: Path) -> None:
    assert sorted(p.name for p in (dataset / "data").iterdir()) == [
        "test-00000-of-00002.parquet",
        "test-00001-of-00002.parquet",
    ]
    assert BuildConfig().split == "test"


def test_metric_jieba_cuts_as_upstream_and_the_builder_keeps_its_setting() -> None:
    jieba = pytest.importorskip("jieba")
    import vcr_wiki
    from vcr_wiki.builder.sample import SampleMaker
    from vcr_wiki.eval.metrics import get_tokenizer

    text = "他来到了网易杭研大厦"  # "杭研" is a word only jieba's HMM finds
    metric = get_tokenizer("zh", "jieba")
    assert metric.name == "jieba-hmm"
    assert metric.fn(text) == jieba.lcut(text) == ["他", "来到", "了", "网易", "杭研", "大厦"]
    font = Path(vcr_wiki.__file__).parent / "data" / "fonts" / "LiberationSans-Regular.ttf"  # no CJK needed
    maker = SampleMaker(BuildConfig(lang="zh", nlp="jieba", font=str(font)))
    assert maker.tokenizer.name == "jieba" and maker.tokenizer.fn(text) == jieba.lcut(text, HMM=False)
    assert maker.tokenizer.fn(text) != metric.fn(text)


def test_show_report_and_demo_refuse_a_folder_of_other_files(
    pairs: Path, dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "report.md").write_text("my notes\n")
    (mine / "show-000000.png").write_bytes(b"my picture")
    before = _tree(mine)
    scores = tmp_path / "scores"
    assert _eval(dataset, scores) == 0
    capsys.readouterr()
    for command, args in (
        ("show", ["show", "--input", str(pairs), "--out", str(mine), "--nlp", "regex", "--count", "1"]),
        ("report", ["report", str(scores), "--out", str(mine)]),
        ("demo", ["demo", "--out", str(mine)]),
    ):
        assert main(args) == 2
        assert MARKER in _one_line_error(capsys, command)
    assert _tree(mine) == before
    shown = tmp_path / "shown"
    for _ in range(2):  # its own folder again: refreshed
        assert (
            main(["show", "--input", str(pairs), "--out", str(shown), "--nlp", "regex", "--count", "1"]) == 0
        )
    assert json.loads((shown / MARKER).read_text())["kind"] == "show"
