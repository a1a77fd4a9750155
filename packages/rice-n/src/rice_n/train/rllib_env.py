"""RICE-N's PettingZoo env (:func:`rice_n.parallel_env`) as an RLlib ``MultiAgentEnv`` (needs ray).

Each region observes ``{"features": float32[F], "action_mask": float32[M], "active_dims": float32[D]}``:
the features and the flat action mask of the PettingZoo env, plus which action dims the current stage
uses (all of them without negotiation; see :func:`rice_n.train.stage_dim_mask`). The env counts the
actions taken at a masked level (the masking module must keep it at 0) and puts the episode's headline
metrics (those the built-in trainer logs) into the last step's infos under ``"rice_n"``.

The agents are the region indices ``0 .. N-1`` (ints), not the PettingZoo names: RLlib keeps agent ids in
Python sets, whose order for strings changes with each process's hash seed (``PYTHONHASHSEED``), and
that order decides which sampled random number goes to which region. With ints the order is fixed, so
the same ``--seed`` gives the same run.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces
from ray.rllib.env.multi_agent_env import MultiAgentEnv

from rice_n.env import parallel_env
from rice_n.train.policy import stage_dim_mask

#: The key of the episode summary in the last step's infos.
INFO_KEY = "rice_n"


class RiceMultiAgentEnv(MultiAgentEnv):
    """One RICE-N episode for RLlib; ``config`` = ``{"protocol", "mode", "stage_dims"}``."""

    def __init__(self, config: dict[str, Any] | None = None) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        config = dict(config or {})
        self.pz = parallel_env(protocol=config.get("protocol", "none"), mode=config.get("mode", "upstream"))
        batch = self.pz.batch
        self.names: list[str] = list(self.pz.possible_agents)
        self.agents = self.possible_agents = list(range(len(self.names)))
        nvec = np.asarray(batch.action_nvec, dtype=np.int64)
        self.offsets = np.concatenate([[0], np.cumsum(nvec)[:-1]])
        dims = (
            stage_dim_mask(batch) if config.get("stage_dims", True) else np.ones((batch.n_stages, nvec.size))
        )
        self.stage_dims = dims.astype(np.float32)
        obs_space = spaces.Dict(
            {
                "features": spaces.Box(-np.inf, np.inf, (batch.obs_dim,), np.float32),
                "action_mask": spaces.Box(0.0, 1.0, (int(nvec.sum()),), np.float32),
                "active_dims": spaces.Box(0.0, 1.0, (int(nvec.size),), np.float32),
            }
        )
        act_space = spaces.MultiDiscrete(nvec)
        self.observation_spaces = dict.fromkeys(self.agents, obs_space)
        self.action_spaces = dict.fromkeys(self.agents, act_space)
        self._rows = np.arange(len(self.agents))[:, None]
        self.masked_taken = 0

    def _obs(self, pz_obs: dict[str, Any]) -> dict[int, dict[str, np.ndarray]]:
        batch = self.pz.batch
        mask = np.asarray(batch.action_mask()[0], dtype=np.float32)  # (N, M)
        active = self.stage_dims[batch.next_stage] if not batch.done else self.stage_dims[0]
        return {
            i: {"features": pz_obs[name]["features"], "action_mask": mask[i], "active_dims": active}
            for i, name in enumerate(self.names)
        }

    def _by_index(self, per_name: dict[str, Any]) -> dict[int, Any]:
        return {i: per_name[name] for i, name in enumerate(self.names)}

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[Any, Any], dict[Any, Any]]:
        """Start an episode (the model is deterministic; ``seed`` is accepted for the API)."""
        pz_obs, infos = self.pz.reset(seed=seed)
        self.masked_taken = 0
        return self._obs(pz_obs), self._by_index(infos)

    def step(  # type: ignore[override]
        self, action_dict: dict[Any, Any]
    ) -> tuple[dict[Any, Any], dict[Any, Any], dict[Any, Any], dict[Any, Any], dict[Any, Any]]:
        """Step all regions; count masked levels taken; the last infos carry the episode's metrics."""
        acts = np.stack([np.asarray(action_dict[i], dtype=np.int64) for i in self.agents])
        mask = self.pz.batch.action_mask()[0]
        self.masked_taken += int((mask[self._rows, self.offsets + acts] == 0).sum())
        pz_obs, pz_rewards, terms, _, pz_infos = self.pz.step(dict(zip(self.names, acts, strict=True)))
        done = bool(next(iter(terms.values())))
        rewards, infos = self._by_index(pz_rewards), self._by_index(pz_infos)
        if done:
            summary = {**self.pz.episode_metrics(), "masked_actions": self.masked_taken}
            infos = {agent: {**info, INFO_KEY: summary} for agent, info in infos.items()}
        terminateds: dict[Any, bool] = {**dict.fromkeys(self.agents, done), "__all__": done}
        truncateds: dict[Any, bool] = {**dict.fromkeys(self.agents, False), "__all__": False}
        return self._obs(pz_obs), rewards, terminateds, truncateds, infos
