"""``rice-n train --engine rllib`` without ray, and option checks that need no Ray (normal tests)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from rice_n.cli import main

pytest.importorskip("torch")


def test_engine_rllib_without_ray_names_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    out = tmp_path / "run"
    assert main(["train", "--engine", "rllib", "--episodes", "2", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ['rice-n train: error: --engine rllib needs ray[rllib]: pip install "rice-n[ray]"']
    assert not out.exists()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--address", "127.0.0.1:6379"], "need --engine rllib"),
        (["--num-env-runners", "2"], "need --engine rllib"),
    ],
)
def test_ray_options_need_the_rllib_engine(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    out = tmp_path / "run"
    assert main(["train", "--episodes", "2", "--out", str(out), *extra]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("rice-n train: error:") and message in line
    assert not out.exists()
