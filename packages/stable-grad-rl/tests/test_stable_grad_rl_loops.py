"""The README's "Inside the loops people already use" blocks (SB3 policy_kwargs, a cleanrl-style loop)
run as written, in this process (their own asserts check Kron, training, save/load and finite weights)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
SECTION = "## Inside the loops people already use"


def _blocks() -> list[str]:
    text = README.read_text(encoding="utf-8")
    section = text.split(SECTION, 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^```python\n(.*?)^```$", section, re.M | re.S)


def test_the_section_has_the_sb3_and_the_cleanrl_block() -> None:
    blocks = _blocks()
    assert len(blocks) == 2
    assert "from stable_baselines3 import PPO" in blocks[0] and "optimizer_class=kron" in blocks[0]
    assert 'make_optimizer("kron"' in blocks[1] and "stable_baselines3" not in blocks[1]


@pytest.mark.parametrize("index", [0, 1], ids=["sb3", "cleanrl"])
def test_readme_loop_block_runs(index: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code = compile(_blocks()[index], f"{README}:block{index}", "exec")
    exec(code, {"__name__": "__main__"})  # the package's own README, the point of this test
