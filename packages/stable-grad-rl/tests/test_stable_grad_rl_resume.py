"""Exact resume of every RL trainer (stopped after a checkpoint, and ``kill -9``), env state, threads."""

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

from stable_grad_rl import NetworkConfig, TrainConfig, run_training
from stable_grad_rl.cli import main
from stable_grad_rl.envs import make_vec_env
from stable_grad_rl.envstate import EnvStateError, env_state, load_env_state
from stable_grad_rl.train import set_threads

ALGO_SETTINGS = {
    "ppo": {"total_timesteps": 640, "num_envs": 2, "num_steps": 32, "update_epochs": 2},
    "pqn": {"total_timesteps": 1280, "num_envs": 4, "num_steps": 32, "num_minibatches": 4},
    "dqn": {"total_timesteps": 2000, "steps_per_iteration": 200, "learning_starts": 400, "train_frequency": 4,
            "target_network_frequency": 150, "batch_size": 32, "buffer_size": 1000},
}  # fmt: skip


def records(path: Path) -> list[dict]:
    """metrics.jsonl without the wall-clock field."""
    lines = (path / "metrics.jsonl").read_text().splitlines()
    return [{k: v for k, v in json.loads(ln).items() if k != "wall_time"} for ln in lines]


def config(algo: str) -> TrainConfig:
    return TrainConfig(
        algo=algo, network=NetworkConfig(width=16, depth=2), algo_config=dict(ALGO_SETTINGS[algo]),
        seed=3, checkpoint_every=3, diag_every=4,
    )  # fmt: skip


@pytest.mark.parametrize("algo", ["ppo", "pqn", "dqn"])
def test_stopped_after_checkpoint_resumes_record_for_record(tmp_path: Path, algo: str) -> None:
    run_training(config(algo), tmp_path / "full", progress=False)
    calls = []

    def stop_at_iteration_8() -> None:  # called once before the loop, then once per iteration
        calls.append(1)
        if len(calls) == 9:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_training(config(algo), tmp_path / "cut", progress=False, guard=stop_at_iteration_8)
    assert len(records(tmp_path / "cut")) == 7  # iterations 1-7 logged, checkpoint at 6
    run_training(config(algo), tmp_path / "cut", resume=True, progress=False)
    full, resumed = records(tmp_path / "full"), records(tmp_path / "cut")
    assert len(full) == len(resumed) >= 10
    assert resumed == full


def test_kill_9_after_checkpoint_then_resume_equals_uninterrupted(tmp_path: Path) -> None:
    argv = ["train", "--algo", "ppo", "--env", "CartPole-v1", "--steps", "1280", "--seed", "2", "--width", "16",
            "--depth", "2", "--set", "num_envs=2", "--set", "num_steps=32", "--set", "update_epochs=2",
            "--checkpoint-every", "2"]  # fmt: skip
    assert main([*argv, "--out", str(tmp_path / "full")]) == 0
    cut = tmp_path / "cut"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TQDM_DISABLE": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "stable_grad_rl", *argv, "--out", str(cut)], env=env, stderr=subprocess.DEVNULL
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


class _Opaque:
    """Stands for an emulator or game object."""


class _OpaqueEnv(gym.Env):
    observation_space = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)
    action_space = gym.spaces.Discrete(2)

    def __init__(self) -> None:
        self.game = _Opaque()


def test_env_state_round_trip_and_unsaveable_env() -> None:
    envs = make_vec_env("CartPole-v1", 2, seed=0)
    envs.reset(seed=[0, 1])
    saved = env_state(envs)
    buf = io.BytesIO()
    torch.save(saved, buf)
    buf.seek(0)
    loaded = torch.load(buf, weights_only=True)  # plain data only
    first = [envs.step(np.array([1, 0]))[0] for _ in range(5)]
    load_env_state(envs, loaded)
    again = [envs.step(np.array([1, 0]))[0] for _ in range(5)]
    np.testing.assert_array_equal(np.stack(first), np.stack(again))
    opaque = gym.vector.SyncVectorEnv([_OpaqueEnv])
    with pytest.raises(EnvStateError, match=r"_OpaqueEnv\.game is a _Opaque"):
        env_state(opaque)


def test_threads_field_is_validated_and_applied() -> None:
    with pytest.raises(ValueError, match="threads"):
        TrainConfig(algo="ppo", threads=0).validate()
    before = torch.get_num_threads()
    try:
        set_threads(2)
        assert torch.get_num_threads() == 2
        set_threads(1)
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
