"""Gymnasium vector environments: classic control on CPU, Atari through ale-py, MinAtar if installed.

Vector envs use same-step autoreset (cleanrl semantics): after a terminal step the returned observation
is already the first observation of the next episode.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np


def is_atari(env_id: str) -> bool:
    """True for ALE ids such as ``ALE/Breakout-v5`` or ``BreakoutNoFrameskip-v4``."""
    return env_id.startswith("ALE/") or env_id.endswith("NoFrameskip-v4")


class _ChannelFirst(gym.ObservationWrapper[Any, Any, Any]):
    """MinAtar (H, W, C) boolean grids -> (C, H, W) float32 in {0, 255} (the CNNs divide by 255)."""

    def __init__(self, env: gym.Env[Any, Any]):
        super().__init__(env)
        h, w, c = tuple(env.observation_space.shape or ())
        self.observation_space = gym.spaces.Box(0.0, 255.0, (c, h, w), np.float32)

    def observation(self, observation: np.ndarray) -> np.ndarray:
        return np.transpose(observation, (2, 0, 1)).astype(np.float32) * 255.0


def _make_one(env_id: str) -> Callable[[], gym.Env[Any, Any]]:
    def thunk() -> gym.Env[Any, Any]:
        if is_atari(env_id):
            env = gym.make(env_id, frameskip=1, repeat_action_probability=0.0)
            env = gym.wrappers.AtariPreprocessing(env, noop_max=30, frame_skip=4, screen_size=84)
            return gym.wrappers.FrameStackObservation(env, 4)
        if env_id.startswith("MinAtar/"):
            return _ChannelFirst(gym.make(env_id))
        return gym.make(env_id)

    return thunk


def check_env(env_id: str) -> None:
    """Raise ``ValueError`` (or ``ImportError`` naming the extra) unless ``env_id`` is registered."""
    if not isinstance(env_id, str) or not env_id:
        raise ValueError(f"bad environment id {env_id!r}")
    if is_atari(env_id):
        try:
            import ale_py
        except ImportError as err:
            raise ImportError(f"{env_id} needs ale-py: pip install 'stable-grad-rl[atari]'") from err
        gym.register_envs(ale_py)
    elif env_id.startswith("MinAtar/"):
        try:
            from minatar.gym import register_envs
        except ImportError as err:
            raise ImportError(f"{env_id} needs minatar: pip install 'stable-grad-rl[minatar]'") from err
        if not any(k.startswith("MinAtar/") for k in gym.registry):
            register_envs()
    if env_id not in gym.registry:
        raise ValueError(f"unknown environment {env_id!r} (not a registered gymnasium id)")


def make_vec_env(env_id: str, num_envs: int, seed: int) -> gym.vector.SyncVectorEnv:
    """``num_envs`` copies of ``env_id`` (discrete actions), reset with seeds ``seed .. seed+num_envs-1``."""
    if num_envs < 1:
        raise ValueError(f"num_envs must be >= 1, got {num_envs}")
    check_env(env_id)
    try:
        envs = gym.vector.SyncVectorEnv(
            [_make_one(env_id) for _ in range(num_envs)], autoreset_mode=gym.vector.AutoresetMode.SAME_STEP
        )
    except gym.error.Error as err:
        raise ValueError(f"environment {env_id!r} cannot be made: {err}") from err
    if not isinstance(envs.single_action_space, gym.spaces.Discrete):
        envs.close()
        raise ValueError(
            f"{env_id} has a {type(envs.single_action_space).__name__} action space; need Discrete"
        )
    envs.action_space.seed(seed)
    return envs


class EpisodeTracker:
    """Undiscounted returns and lengths of finished episodes, for vectorised envs (raw rewards)."""

    def __init__(self, num_envs: int, window: int = 20):
        self.ret = np.zeros(num_envs)
        self.len = np.zeros(num_envs, dtype=np.int64)
        self.window = window
        self.returns: list[float] = []
        self.lengths: list[int] = []

    def update(self, rewards: np.ndarray, dones: np.ndarray) -> None:
        """Add one vector step."""
        self.ret += rewards
        self.len += 1
        for i in np.flatnonzero(dones):
            self.returns.append(float(self.ret[i]))
            self.lengths.append(int(self.len[i]))
        self.ret[dones] = 0.0
        self.len[dones] = 0

    def recent_return(self) -> float | None:
        """Mean return of the last ``window`` finished episodes (``None`` before the first)."""
        return float(np.mean(self.returns[-self.window :])) if self.returns else None
