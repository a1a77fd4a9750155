"""``rice-n train --engine rllib``: RLlib PPO on Ray writes a built-in run folder; masks hold; resume."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from rice_n.cli import main
from rice_n.evaluate import evaluate_policy
from rice_n.train import load_policy, preset, train

# ray is imported inside the tests: without it this module must still be collected (and deselected)
pytestmark = pytest.mark.scaleout

SMALL = {"num_envs": 2, "hidden": (32,), "epochs": 2}
#: The same run by flags (``rice-n train --engine rllib``), for the runs in a separate process.
SMALL_FLAGS = ["--num-envs", "2", "--hidden", "32", "--epochs", "2", "--no-plots"]
#: Wall-clock figures: the only keys of metrics.jsonl that differ between two runs of one seed.
TIMINGS = ("rollout_s", "learn_s", "env_steps_per_s", "learner_samples_per_s")


def _records(run: Path) -> list[dict[str, Any]]:
    rows = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    return [{k: v for k, v in row.items() if k not in TIMINGS} for row in rows]


def _cli(argv: list[str], hash_seed: str) -> subprocess.CompletedProcess[str]:
    """``rice-n`` in a separate process (its own string hash seed: RLlib keeps agent ids in sets)."""
    env = {**os.environ, "TQDM_DISABLE": "1", "PYTHONHASHSEED": hash_seed}
    return subprocess.run([sys.executable, "-m", "rice_n", *argv], capture_output=True, text=True, env=env)


def test_masking_module_never_samples_a_masked_level() -> None:
    from ray.rllib.core.columns import Columns

    from rice_n.train.rllib_env import RiceMultiAgentEnv
    from rice_n.train.rllib_module import MaskedSharedPolicyModule

    env = RiceMultiAgentEnv({"protocol": "bilateral"})
    spec = env.pz.batch
    space = env.observation_spaces[0]
    module = MaskedSharedPolicyModule(
        observation_space=space,
        action_space=env.action_spaces[0],
        model_config={
            "split": [27, spec.obs_dim - 27 - spec.layout.private_dim, spec.layout.private_dim],
            "hidden": [16],
        },
    )
    rng = np.random.default_rng(0)
    e, m, d = 64, space["action_mask"].shape[0], space["active_dims"].shape[0]
    mask = (rng.random((e, m)) < 0.3).astype(np.float32)
    starts, nvec = env.offsets, env.action_spaces[0].nvec
    mask[np.arange(e)[:, None], starts + (rng.random((e, d)) * nvec).astype(int)] = 1.0  # >= 1 level per dim
    active = (rng.random((e, d)) < 0.5).astype(np.float32)
    obs = {
        "features": torch.randn(e, space["features"].shape[0]),
        "action_mask": torch.as_tensor(mask),
        "active_dims": torch.as_tensor(active),
    }
    for forward in (module.forward_exploration, module.forward_inference, module.forward_train):
        logits = forward({Columns.OBS: obs})[Columns.ACTION_DIST_INPUTS]
        dist = module.get_exploration_action_dist_cls().from_logits(logits)
        for _ in range(20):
            a = dist.sample().numpy()
            assert mask[np.arange(e)[:, None], starts + a].all()
            lowest = np.array(
                [
                    [np.flatnonzero(mask[i, s : s + k])[0] for s, k in zip(starts, nvec, strict=True)]
                    for i in range(e)
                ]
            )
            assert (
                a[active == 0] == lowest[active == 0]
            ).all()  # unused dims pinned: no log-prob, no entropy


def test_rllib_run_folder_is_a_builtin_run_and_resumes(ray_session: Any, tmp_path: Path) -> None:
    from rice_n.train.rllib_runner import RLLIB_CHECKPOINT, train_rllib

    torch.set_num_threads(1)  # as rice-n train (--threads 1): the same float reductions in both processes
    config = preset("ppo", episodes=4, **SMALL)
    run = tmp_path / "rllib"
    first = train_rllib(config, run, stop_after=1, progress=False)
    assert len(first.history) == 1 and (run / RLLIB_CHECKPOINT / "rice_n_state.json").is_file()
    with pytest.raises(ValueError, match="holds a train; pass --resume"):
        train_rllib(config, run, progress=False)
    (run / ".checkpoint.rllib-tmp").mkdir()  # a stale temp folder of a killed save
    with (run / "metrics.jsonl").open("a") as f:
        f.write('{"iteration": 2, "tor')  # a torn line
    result = train_rllib(config, run, resume=True, progress=False)
    rows = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["iteration"] for r in rows] == [1, 2] and rows[-1]["episodes"] == 4
    assert not (run / ".checkpoint.rllib-tmp").exists()
    # the same seed in another process (another hash seed), uninterrupted: the resumed run record for record
    straight = tmp_path / "straight"
    address = ray_session.get_runtime_context().gcs_address
    argv = ["train", "--engine", "rllib", "--address", address, "--episodes", "4", *SMALL_FLAGS]
    proc = _cli([*argv, "--out", str(straight)], hash_seed="1")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert _records(straight) == _records(run)
    builtin = train(preset("ppo", episodes=2, **SMALL), tmp_path / "builtin", progress=False)
    assert set(rows[0]) == set(builtin.history[0])
    with pytest.raises(ValueError, match="resume it with --engine rllib"):
        train(config, run, resume=True, progress=False)
    with pytest.raises(ValueError, match="resume it with --engine local"):
        train_rllib(config, tmp_path / "builtin", resume=True, progress=False)
    assert all(r["masked_actions"] == 0 for r in rows)
    meta = json.loads((run / "config.json").read_text())
    assert meta["engine"] == "rllib" and meta["config"] == config.to_dict()
    policy, header = load_policy(run)
    for name, value in result.policy.state_dict().items():
        assert torch.equal(policy.state_dict()[name], value)
    assert header["format"] == "rice-n-policy/1"
    ev = evaluate_policy(str(run), episodes=2, seed=0)
    assert np.isfinite(ev.per_episode["temperature_rise"]).all()
    assert (
        main(["compare", str(run), "random", "--episodes", "2", "--no-plots", "--out", str(tmp_path / "c")])
        == 0
    )


def test_cli_rllib_on_an_existing_cluster_with_env_runner(ray_session: Any, tmp_path: Path) -> None:
    """A separate ``rice-n train`` process joins the session's cluster (--address), samples on an actor."""
    from rice_n.train.rllib_runner import train_rllib

    out = tmp_path / "neg"
    address = ray_session.get_runtime_context().gcs_address
    assert address.startswith("127.0.0.1:")  # the tests' Ray listens on the loopback address only
    argv = ["train", "--engine", "rllib", "--address", address, "--num-env-runners", "1", "--protocol"]
    argv += ["bilateral", "--episodes", "2", *SMALL_FLAGS, "--out", str(out)]
    proc = _cli(argv, hash_seed="2")
    assert proc.returncode == 0, proc.stderr[-2000:]
    (row,) = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    assert row["episodes"] == 2 and row["masked_actions"] == 0 and np.isfinite(row["policy_loss"])
    assert json.loads((out / "config.json").read_text())["num_env_runners"] == 1
    # the same seed again, here, with a new env runner actor: the same run
    torch.set_num_threads(1)
    config = preset("ppo", episodes=2, protocol="bilateral", **SMALL)
    train_rllib(config, tmp_path / "again", num_env_runners=1, progress=False)
    assert _records(tmp_path / "again") == _records(out)
    ev = out / "eval"
    assert main(["evaluate", "--policy", str(out), "--episodes", "2", "--no-plots", "--out", str(ev)]) == 0
    assert json.loads((ev / "metrics.json").read_text())["episodes"] == 2
