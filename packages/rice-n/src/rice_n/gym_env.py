"""Gymnasium single-agent wrapper: one controlled region against fixed policies for the others."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from rice_n.batch import BatchRiceEnv, InvalidActionError
from rice_n.dynamics import Mode
from rice_n.protocols import Protocol

#: A policy of the other regions: (features (N, F), flat masks (N, M), stage) -> int actions (N, D).
OthersPolicy = Callable[[np.ndarray, np.ndarray, int], np.ndarray]


class RiceSingleAgentEnv(gym.Env[dict[str, np.ndarray], np.ndarray]):
    """RICE-N as a Gymnasium env for one region; the other regions follow a fixed policy.

    Args:
        region: index of the controlled region (0..N-1).
        others: the other regions' behaviour: an int action vector (D,) used by all of them, an array
            (N, D) of per-region vectors, or a callable ``(features, masks, stage) -> (N, D)`` actions.
            Default: savings level 2 (0.2), everything else 0 (business as usual, no trade).
        protocol, mode, **config: as :func:`rice_n.parallel_env`.

    Observation: ``{"features": float32[F], "action_mask": int8[sum(nvec)]}`` (upstream's flat mask).
    Reward: the controlled region's utility. An episode terminates after 20 (60 with negotiation) steps.
    """

    metadata: dict[str, Any] = {"render_modes": []}  # noqa: RUF012 - gymnasium declares it per instance

    def __init__(
        self,
        region: int = 0,
        others: Any = None,
        protocol: str | Protocol = "none",
        mode: str | Mode = "upstream",
        **config: Any,
    ) -> None:
        self.batch = BatchRiceEnv(num_envs=1, protocol=protocol, mode=mode, **config)
        n, d = self.batch.n_agents, self.batch.n_actions
        if not isinstance(region, (int, np.integer)) or not 0 <= region < n:
            raise ValueError(f"region must be an integer in [0, {n - 1}], got {region!r}")
        self.region = int(region)
        if others is None:
            others = np.zeros(d, dtype=np.int64)
            others[0] = 2
        if callable(others):
            self._others_fn: OthersPolicy | None = others
            self._others = None
        else:
            arr = np.asarray(others)
            if arr.shape == (d,):
                arr = np.broadcast_to(arr, (n, d))
            if arr.shape != (n, d):
                raise ValueError(f"others must be a ({d},) or ({n}, {d}) action array, got shape {arr.shape}")
            if np.any(arr < 0) or np.any(arr >= self.batch.layout.nvec):
                raise ValueError("others: an action level is out of range [0, action_nvec)")
            self._others_fn, self._others = None, np.array(arr, dtype=np.int64)
        self.observation_space = spaces.Dict(  # type: ignore[assignment]  # gymnasium 1.4: Dict[object]
            {
                "features": spaces.Box(-np.inf, np.inf, (self.batch.obs_dim,), np.float32),
                "action_mask": spaces.MultiBinary(self.batch.mask_dim),
            }
        )
        self.action_space = spaces.MultiDiscrete(self.batch.layout.nvec)
        self._obs: np.ndarray | None = None
        self._mask: np.ndarray | None = None

    def _observe(self, obs: np.ndarray, mask: np.ndarray) -> dict[str, np.ndarray]:
        self._obs, self._mask = obs, mask
        return {"features": obs[0, self.region].copy(), "action_mask": mask[0, self.region].copy()}

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """Start an episode; returns ``(observation, info)``."""
        super().reset(seed=seed)
        obs, mask = self.batch.reset(seed)
        return self._observe(obs, mask), {"stage": 0, "activity_step": 0, "year": self.batch.year}

    def step(self, action: Any) -> tuple[dict[str, np.ndarray], float, bool, bool, dict[str, Any]]:
        """Step with the controlled region's action ``(D,)``; returns Gymnasium's 5-tuple."""
        a = np.asarray(action)
        if a.shape != (self.batch.n_actions,):
            raise InvalidActionError(f"action must have shape ({self.batch.n_actions},), got {a.shape}")
        if self._obs is None or self._mask is None:
            raise RuntimeError("call reset() before step()")
        if self._others_fn is not None:
            others = np.asarray(self._others_fn(self._obs[0], self._mask[0], self.batch.next_stage))
        else:
            assert self._others is not None  # set whenever there is no others function
            others = self._others
        acts = others.astype(np.result_type(others.dtype, a.dtype), copy=True)
        acts[self.region] = a
        obs, mask, reward, done, info = self.batch.step(acts[None])
        return self._observe(obs, mask), float(reward[0, self.region]), bool(done), False, info
