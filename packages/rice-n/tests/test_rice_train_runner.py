"""The training loop: run folder, metrics.jsonl, policy files, checkpoints, exact resume, masks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("safetensors")

from rice_n.train import PolicyError, load_checkpoint, load_policy, preset, train  # noqa: E402

TINY = {"hidden": (16, 16), "num_envs": 4, "epochs": 2, "minibatches": 2}
STABLE = ("episodes", "env_steps", "mean_episode_reward", "temperature_rise", "policy_loss", "entropy")


def rows(run: Path) -> list[dict]:
    return [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]


def test_run_folder_and_exact_resume(tmp_path: Path) -> None:
    cfg = preset("ppo", episodes=12, seed=5, **TINY)
    full = train(cfg, tmp_path / "full", progress=False)
    assert [h["episodes"] for h in full.history] == [4, 8, 12]
    written = rows(tmp_path / "full")
    assert len(written) == 3 and all("mean_episode_reward" in r and "episodes" in r for r in written)
    for name in ("config.json", "policy.safetensors", "policy.json", "checkpoint.pt"):
        assert (tmp_path / "full" / name).is_file()
    assert not list((tmp_path / "full").glob(".*.tmp"))

    part = tmp_path / "part"
    train(cfg, part, progress=False, stop_after=1, checkpoint_every=1)
    assert len(rows(part)) == 1
    resumed = train(cfg, part, resume=True, progress=False)
    assert len(rows(part)) == 3
    for a, b in zip(full.history, resumed.history, strict=True):
        for key in STABLE:
            assert a[key] == b[key], key
    p1, _ = load_policy(tmp_path / "full")
    p2, meta = load_policy(part / "policy.safetensors")
    for (k, v), (_, w) in zip(p1.state_dict().items(), p2.state_dict().items(), strict=True):
        assert torch.equal(v, w), k
    assert meta["env"]["protocol"] == "none" and meta["nvec"] == [10] * 57

    ckpt = load_checkpoint(part / "checkpoint.pt")  # weights_only=True
    assert ckpt["iteration"] == 3 and ckpt["episodes"] == 12
    with pytest.raises(PolicyError, match="another config"):
        train(cfg.replace(lr=1e-2), part, resume=True, progress=False)


def test_bad_files_give_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="no policy file"):
        load_policy(tmp_path)
    (tmp_path / "checkpoint.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(PolicyError, match="corrupt"):
        load_checkpoint(tmp_path / "checkpoint.pt")
    train(preset("ppo", episodes=4, **TINY), tmp_path / "r", progress=False)
    (tmp_path / "r" / "policy.safetensors").write_bytes(b"garbage")
    with pytest.raises(PolicyError, match="corrupt"):
        load_policy(tmp_path / "r")


@pytest.mark.parametrize("algo", ["a2c", "a2c-rllib"])
def test_a2c_presets_run(tmp_path: Path, algo: str) -> None:
    res = train(preset(algo, episodes=4, **TINY), tmp_path, progress=False)
    assert res.history[-1]["episodes"] == 4 and res.history[-1]["masked_actions"] == 0
    assert res.history[-1]["entropy_coeff"] == (0.5 if algo == "a2c-rllib" else 0.01)


def test_bilateral_training_respects_mitigation_floors(tmp_path: Path) -> None:
    # high proposals and accepts make mitigation floors, which the masks show: never sampled below them
    res = train(preset("ppo", protocol="bilateral", episodes=4, seed=2, **TINY), tmp_path, progress=False)
    row = res.history[-1]
    assert row["env_steps"] == 4 * 60 and row["masked_actions"] == 0
    from rice_n import BatchRiceEnv
    from rice_n.evaluate import PolicyActor, run_episodes

    env = BatchRiceEnv(num_envs=3, protocol="bilateral", mask_violation="raise")
    _, masked = run_episodes(env, PolicyActor(res.policy, seed=0))
    assert masked == 0
