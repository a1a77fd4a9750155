"""PettingZoo ``ParallelEnv`` of RICE-N: one episode, agents ``region_0`` ... ``region_{N-1}``.

A thin wrapper around :class:`rice_n.BatchRiceEnv` with one episode. Each agent observes
``{"features": float32[F], "action_mask": tuple of int8 arrays, one per action dim}`` (the tuple form is
what ``MultiDiscrete.sample(mask=...)`` takes; ``np.concatenate`` of it is upstream's flat mask).

The mask arrays are views of one buffer, made once and updated in place when the batch env's mask
changes (a 31 KB copy): copy them if you keep masks across steps. The agents' infos of a step are one
fresh dict shared by all agents (copy it before changing one agent's).
"""

from __future__ import annotations

import functools
from typing import Any, ClassVar

import numpy as np
from gymnasium import spaces
from pettingzoo import ParallelEnv

from rice_n.batch import BatchRiceEnv, InvalidActionError
from rice_n.dynamics import Mode
from rice_n.protocols import Protocol

#: ``step``'s (observations, rewards, terminations, truncations, infos), each keyed by agent.
_StepResult = tuple[
    dict[str, dict[str, Any]], dict[str, float], dict[str, bool], dict[str, bool], dict[str, dict[str, Any]]
]


class RiceParallelEnv(ParallelEnv):  # type: ignore[misc]
    """RICE-N as a PettingZoo ParallelEnv (see :func:`parallel_env`)."""

    metadata: ClassVar[dict[str, Any]] = {"name": "rice_n_v0", "render_modes": [], "is_parallelizable": True}

    def __init__(
        self, protocol: str | Protocol = "none", mode: str | Mode = "upstream", **config: Any
    ) -> None:
        if "num_envs" in config or "backend" in config:
            raise ValueError("parallel_env runs one numpy episode; use rice_n.BatchRiceEnv for batches")
        self.batch = BatchRiceEnv(num_envs=1, protocol=protocol, mode=mode, **config)
        self.possible_agents = [f"region_{i}" for i in range(self.batch.n_agents)]
        self.agents: list[str] = []
        self.render_mode = None
        self._index = {agent: i for i, agent in enumerate(self.possible_agents)}
        self._agent_set = frozenset(self.possible_agents)
        splits = np.cumsum(self.batch.layout.nvec)[:-1]
        self._mask_buf = np.ones((self.batch.n_agents, self.batch.mask_dim), dtype=np.int8)
        self._mask_tuples = [tuple(np.split(row, splits)) for row in self._mask_buf]  # views, made once
        self._mask_source: Any = None

    @property
    def params(self) -> Any:
        """The :class:`rice_n.RiceParams` of the env."""
        return self.batch.params

    @functools.cache  # noqa: B019 - one space object per agent, as the API requires
    def observation_space(self, agent: str) -> spaces.Dict:
        """``Dict(features=Box(F,), action_mask=Tuple(MultiBinary(n) per action dim))``."""
        self._check_agent(agent)
        return spaces.Dict(
            {
                "features": spaces.Box(-np.inf, np.inf, (self.batch.obs_dim,), np.float32),
                "action_mask": spaces.Tuple(
                    tuple(spaces.Box(0, 1, (int(n),), np.int8) for n in self.batch.layout.nvec)
                ),
            }
        )

    @functools.cache  # noqa: B019
    def action_space(self, agent: str) -> spaces.MultiDiscrete:
        """``MultiDiscrete(action_nvec)``: 57 dims of 10 levels without negotiation."""
        self._check_agent(agent)
        return spaces.MultiDiscrete(self.batch.layout.nvec)

    def _check_agent(self, agent: str) -> None:
        if agent not in self._index:
            raise KeyError(f"unknown agent {agent!r}; agents are region_0 .. region_{len(self._index) - 1}")

    def _observations(self, obs: np.ndarray, mask: np.ndarray) -> dict[str, dict[str, Any]]:
        if mask is not self._mask_source:  # the batch env makes a new mask only when a floor changes
            np.copyto(self._mask_buf, mask[0])
            self._mask_source = mask
        return {
            agent: {"features": row, "action_mask": m}
            for agent, row, m in zip(self.possible_agents, obs[0], self._mask_tuples, strict=True)
        }

    def reset(
        self, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Start a new episode; returns ``(observations, infos)`` keyed by agent (deterministic model)."""
        obs, mask = self.batch.reset(seed)
        self.agents = list(self.possible_agents)
        infos = {agent: {"stage": 0, "activity_step": 0, "year": self.batch.year} for agent in self.agents}
        return self._observations(obs, mask), infos

    def _actions_array(self, actions: dict[str, Any]) -> np.ndarray:
        if not self.agents:
            raise RuntimeError("the episode is over: call reset() before stepping again")
        if not isinstance(actions, dict) or actions.keys() != self._agent_set:  # all act until the end
            missing = [a for a in self.agents if a not in actions]
            if missing:
                raise InvalidActionError(
                    f"no action for agent(s) {missing[:3]}{'...' if len(missing) > 3 else ''}"
                )
            extra = [a for a in actions if a not in self._index]
            if extra:
                raise InvalidActionError(f"unknown agent {extra[0]!r} in actions")
        try:  # one array call; arrays of different shapes are refused here, bad values by the batch env
            return np.array([actions[a] for a in self.possible_agents])[None]
        except ValueError as exc:
            raise InvalidActionError(f"actions of different shapes: {exc}") from None

    def step(self, actions: dict[str, Any]) -> _StepResult:
        """Step with ``{agent: int array (D,)}``; returns (obs, rewards, terminations, truncations, infos)."""
        return self._finish(*self.batch.step(self._actions_array(actions)))

    def step_unchecked(self, fractions: dict[str, Any]) -> _StepResult:
        """Step with ``{agent: fractions (D,)}`` in [0, 1], no checks (see BatchRiceEnv.step_unchecked)."""
        return self._finish(*self.batch.step_unchecked(self._actions_array(fractions).astype(np.float64)))

    def _finish(self, obs: Any, mask: Any, reward: Any, done: bool, info: dict[str, Any]) -> _StepResult:
        agents = self.possible_agents
        observations = self._observations(obs, mask)
        rewards = dict(zip(agents, reward[0].tolist(), strict=True))
        terminations = dict.fromkeys(agents, done)
        truncations = dict.fromkeys(agents, False)
        infos = dict.fromkeys(agents, info)  # one fresh dict per step, shared by the agents
        if done:
            self.agents = []
        return observations, rewards, terminations, truncations, infos

    def episode_metrics(self) -> dict[str, float]:
        """Headline metrics of the current episode (temperature rise, gross output, indices, reward)."""
        return {k: float(v[0]) for k, v in self.batch.episode_metrics().items()}

    def state(self) -> np.ndarray:
        """The global state: region 0's observation without its one-hot and private features."""
        lay = self.batch.layout
        obs = self.batch.observations()
        state: np.ndarray = obs[0, 0, lay.n_regions : lay.obs_dim - lay.private_dim].copy()
        return state

    def render(self) -> None:
        """No rendering (use ``rice-n simulate`` for plots)."""
        return None

    def close(self) -> None:
        """Nothing to release."""
        return None


def parallel_env(
    protocol: str | Protocol = "none", mode: str | Mode = "upstream", **config: Any
) -> RiceParallelEnv:
    """The RICE-N PettingZoo ParallelEnv.

    Args:
        protocol: ``"none"``, ``"bilateral"`` or a :class:`rice_n.Protocol` instance.
        mode: ``"upstream"`` (default) or ``"paper"``.
        **config: :class:`rice_n.BatchRiceEnv` options (``regions``, ``params``, ``mask_violation``,
            ``num_discrete_action_levels``, ...) and :class:`rice_n.RiceParams` fields.
    """
    return RiceParallelEnv(protocol=protocol, mode=mode, **config)
