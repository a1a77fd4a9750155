"""A downstream script using rice-n's quickstart, type-checked against the installed package."""

from __future__ import annotations

import numpy as np

import rice_n


def random_episodes(num_envs: int) -> float:
    """Random actions in a batch of episodes; the mean temperature rise at the end."""
    env = rice_n.BatchRiceEnv(num_envs=num_envs)
    env.reset()
    rng = np.random.default_rng(0)
    done = False
    while not done:
        actions = rng.integers(0, 10, size=(num_envs, 27, env.n_actions))
        _, _, _, done, _ = env.step(actions)
    return float(env.episode_metrics()["temperature_rise"].mean())


def worst_climate() -> float:
    """Upstream's worst-climate bound: savings 1.0, all else 0, for 20 steps."""
    f = np.zeros((1, 27, 57))
    f[..., 0] = 1.0
    env = rice_n.BatchRiceEnv(num_envs=1)
    env.reset()
    for _ in range(20):
        env.step_unchecked(f)
    return float(env.episode_metrics()["temperature_rise"][0])
