"""Environments: classic control always; Atari and MinAtar only where their packages are installed."""

from __future__ import annotations

import numpy as np
import pytest

from stable_grad_rl import NetworkConfig, TrainConfig, make_trainer, make_vec_env
from stable_grad_rl.envs import EpisodeTracker


def test_classic_control_vector_env() -> None:
    envs = make_vec_env("CartPole-v1", 3, seed=0)
    obs, _ = envs.reset(seed=[0, 1, 2])
    assert obs.shape == (3, 4) and envs.single_action_space.n == 2
    envs.close()


def test_episode_tracker() -> None:
    tracker = EpisodeTracker(2, window=2)
    tracker.update(np.array([1.0, 2.0]), np.array([False, True]))
    tracker.update(np.array([1.0, 1.0]), np.array([True, False]))
    assert tracker.returns == [2.0, 2.0] and tracker.lengths == [1, 2]
    assert tracker.recent_return() == 2.0


@pytest.mark.parametrize(
    ("env_id", "module", "encoder", "channels"),
    [("ALE/Pong-v5", "ale_py", "atari", (8, 16, 16)), ("MinAtar/Breakout-v1", "minatar", "impala", (8,))],
)
def test_image_envs_one_iteration(env_id: str, module: str, encoder: str, channels: tuple) -> None:
    pytest.importorskip(module)
    if module == "ale_py":
        pytest.importorskip("cv2")
    net = NetworkConfig(
        kind="multiskip", depth=1, width=16, layernorm=True, encoder=encoder, cnn_channels=channels
    )
    algo = {"total_timesteps": 64, "num_envs": 2, "num_steps": 32, "num_minibatches": 2, "update_epochs": 1}
    agent = make_trainer(TrainConfig(algo="pqn", env=env_id, network=net, algo_config=algo, diag_every=1))
    record = agent.step()
    agent.envs.close()
    assert record["global_step"] == 64 and np.isfinite(record["loss"]) and record["srank"] >= 1
