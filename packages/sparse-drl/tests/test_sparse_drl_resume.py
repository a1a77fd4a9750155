"""Exact resume of SAC and DQN (stopped after a checkpoint, and ``kill -9``), env state, threads."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch

from sparse_drl.agents.common import BaseConfig, make_envs
from sparse_drl.cli import main
from sparse_drl.envstate import UnsaveableEnv, restore_envs, snapshot_envs
from sparse_drl.runner import execute_run, prepare_run, set_threads

TINY = {
    "sac": {"env_id": "Pendulum-v1", "total_steps": 500, "learning_starts": 100, "critic_width": 16,
            "critic_depth": 1, "actor_width": 16, "batch_size": 32, "actor_sparsity": 0.5,
            "critic_sparsity": 0.5},
    "dqn": {"env_id": "CartPole-v1", "total_steps": 1000, "learning_starts": 200, "width": 16, "depth": 1,
            "batch_size": 32, "target_update_interval": 100, "critic_sparsity": 0.5},
}  # fmt: skip
LOGGING = {"eval_every": 100, "log_every": 100, "eval_episodes": 1, "seed": 1}


def records(path: Path) -> list[dict]:
    """metrics.jsonl without the wall-clock field."""
    lines = (path / "metrics.jsonl").read_text().splitlines()
    return [{k: v for k, v in json.loads(ln).items() if k != "time_s"} for ln in lines]


@pytest.mark.parametrize("agent", ["sac", "dqn"])
def test_stopped_after_checkpoint_resumes_record_for_record(tmp_path: Path, agent: str) -> None:
    opts = {**TINY[agent], **LOGGING}
    execute_run(prepare_run(agent, opts, tmp_path / "full", checkpoint_every=200), show_progress=False)
    writes = []

    def stop_after_the_second_checkpoint() -> None:  # called before each metrics line and checkpoint
        writes.append((tmp_path / "cut" / "checkpoint.pt").exists())
        if sum(writes) == 2:  # records 100-300 written, checkpoint at 200, stopped before record 400
            raise KeyboardInterrupt

    plan = prepare_run(agent, opts, tmp_path / "cut", checkpoint_every=200)
    with pytest.raises(KeyboardInterrupt):
        execute_run(plan, show_progress=False, guard=stop_after_the_second_checkpoint)
    assert not (tmp_path / "cut" / "summary.json").exists()
    plan = prepare_run(agent, opts, tmp_path / "cut", resume=True, checkpoint_every=200)
    assert plan.state is not None and plan.state["counters"]["step"] == 200
    execute_run(plan, show_progress=False)
    full, resumed = records(tmp_path / "full"), records(tmp_path / "cut")
    assert len(full) >= 5 and resumed == full


def test_kill_9_after_checkpoint_then_resume_equals_uninterrupted(tmp_path: Path) -> None:
    opts = {**TINY["sac"], **LOGGING, "learning_starts": 50}
    sets = [f"{k}={json.dumps(v)}" for k, v in opts.items() if k not in ("env_id", "seed", "total_steps")]
    argv = ["train", "--agent", "sac", "--env", "Pendulum-v1", "--steps", "600", "--seed", "1",
            "--checkpoint-every", "100", *[a for s in sets for a in ("--set", s)]]  # fmt: skip
    assert main([*argv, "--out", str(tmp_path / "full")]) == 0
    cut = tmp_path / "cut"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TQDM_DISABLE": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "sparse_drl", *argv, "--out", str(cut)], env=env, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 120
        while not (cut / "checkpoint.pt").exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert (cut / "checkpoint.pt").exists() and not (cut / "summary.json").exists()
    assert main([*argv, "--out", str(cut), "--resume"]) == 0
    assert records(cut) == records(tmp_path / "full")


class _Emulator:
    """Stands for a game or emulator object."""


class _EmulatedEnv(gym.Env):
    observation_space = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)
    action_space = gym.spaces.Discrete(2)

    def __init__(self) -> None:
        self.emulator = _Emulator()


def test_env_snapshot_round_trip_and_unsaveable_env() -> None:
    envs = make_envs("Pendulum-v1", 2)
    envs.reset(seed=3)
    buf = io.BytesIO()
    torch.save(snapshot_envs(envs), buf)
    buf.seek(0)
    saved = torch.load(buf, weights_only=True)
    action = np.full((2, 1), 0.5, np.float32)
    first = [envs.step(action)[0] for _ in range(4)]
    restore_envs(envs, saved)
    np.testing.assert_array_equal(np.stack(first), np.stack([envs.step(action)[0] for _ in range(4)]))
    with pytest.raises(UnsaveableEnv, match=r"_EmulatedEnv\.emulator \(_Emulator\)"):
        snapshot_envs(gym.vector.SyncVectorEnv([_EmulatedEnv]))


def test_threads_option_is_validated_and_applied() -> None:
    with pytest.raises(ValueError, match="threads"):
        BaseConfig(threads=0).validate()
    before = torch.get_num_threads()
    try:
        set_threads(2)
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
