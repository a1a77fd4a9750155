"""sparsify inside other people's training loops: the README's Stable-Baselines3 and cleanrl-style blocks,
run in this process (their asserts check that pruned weights stay exactly 0)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def readme_python_block(needle: str) -> str:
    """The one python block of the package README that contains ``needle``."""
    blocks = re.findall(r"^```python\n(.*?)^```", README.read_text(encoding="utf-8"), re.S | re.M)
    found = [b for b in blocks if needle in b]
    assert len(found) == 1, f"{len(found)} README blocks contain {needle!r}"
    return found[0]


def run_block(code: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, object]:
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": "__readme__"}
    exec(compile(code, str(README), "exec"), namespace)
    return namespace


def test_sb3_ppo_policy_stays_sparse_through_learn_save_load(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import sparse_drl

    ns = run_block(readme_python_block("from stable_baselines3 import PPO"), monkeypatch, tmp_path)
    policy = ns["loaded"].policy  # type: ignore[attr-defined]
    masks = [n for n, _ in policy.named_buffers() if n.endswith("weight_mask")]
    assert len(masks) >= 4, masks  # actor and critic layers
    assert sparse_drl.pruned_zero_fraction(policy) == 1.0
    assert sparse_drl.density_report(policy).total_density < 0.2
    assert list(tmp_path.iterdir()) == []  # the block cleans up after itself


def test_cleanrl_style_dqn_stays_sparse(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import sparse_drl

    ns = run_block(readme_python_block("cleanrl"), monkeypatch, tmp_path)
    q = ns["q"]
    assert sparse_drl.pruned_zero_fraction(q) == 1.0  # type: ignore[arg-type]
    assert abs(sparse_drl.density_report(q).total_density - 0.1) < 0.01  # type: ignore[arg-type]
    assert ns["step"] == 999
