"""What every agent shares: env handling, episode tracking, diagnostics records, checkpoint state."""

from __future__ import annotations

import random
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from torch import nn

from stable_grad_rl.diagnostics import grad_norms, gradient_spread, representation_metrics
from stable_grad_rl.envs import EpisodeTracker
from stable_grad_rl.envstate import EnvStateError, decode, encode, env_state, load_env_state


def linear_schedule(start: float, end: float, duration: float, t: float) -> float:
    """Linear interpolation from ``start`` to ``end`` over ``duration`` steps, then ``end``."""
    if duration <= 0:
        return end
    return start + (end - start) * min(t / duration, 1.0)


class Agent:
    """Base of PQN, PPO and DQN: one :meth:`step` is one training iteration of the algorithm.

    Subclasses set ``total_iterations`` and implement :meth:`_iterate` (returning a metrics dict).
    """

    algo = "base"

    def __init__(
        self,
        envs: gym.vector.VectorEnv[Any, Any, Any],
        network: nn.Module,
        optimizer: torch.optim.Optimizer,
        seed: int,
    ):
        self.envs = envs
        self.network = network
        self.optimizer = optimizer
        self.seed = seed
        self.num_envs = envs.num_envs
        self.device = next(network.parameters()).device
        action_space: Any = envs.single_action_space  # Discrete for every agent here
        self.n_actions = int(action_space.n)
        self.iteration = 0
        self.global_step = 0
        self.total_iterations = 0
        self.log_every = 1
        self.diag_every = 10
        self.tracker = EpisodeTracker(self.num_envs)
        self.rng = np.random.default_rng(seed)
        self.obs = self._reset(seed)
        self.last_grad_norms: dict[str, float] = {}
        self.inexact_resume: str | None = None

    def _setup_on_policy(self, num_envs: int, num_steps: int, total_timesteps: int) -> None:
        """Shared set-up of the on-policy agents (PQN, PPO): batch size, iteration count, done flags."""
        if self.num_envs != num_envs:
            raise ValueError(f"envs has {self.num_envs} copies but config.num_envs is {num_envs}")
        self.batch_size = num_envs * num_steps
        self.total_iterations = max(1, total_timesteps // self.batch_size)
        self.next_done = torch.zeros(num_envs, device=self.device)
        self._last_obs_batch = self.obs

    def _reset(self, seed: int) -> torch.Tensor:
        seeds: Any = [seed + i for i in range(self.num_envs)]  # one per sub-env (gymnasium accepts a list)
        obs, _ = self.envs.reset(seed=seeds)
        return torch.as_tensor(np.asarray(obs), dtype=torch.float32, device=self.device)

    def _env_step(self, actions: np.ndarray) -> tuple[torch.Tensor, np.ndarray, np.ndarray]:
        obs, reward, term, trunc, _ = self.envs.step(actions)
        done = np.logical_or(term, trunc)
        reward = np.asarray(reward, dtype=np.float64)
        self.tracker.update(reward, done)
        self.global_step += self.num_envs
        obs_t = torch.as_tensor(np.asarray(obs), dtype=torch.float32, device=self.device)
        return obs_t, reward.astype(np.float32), done

    def _backward_step(self, loss: torch.Tensor, max_grad_norm: float) -> None:
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()  # type: ignore[no-untyped-call]
        self.last_grad_norms = grad_norms(self.network)
        if max_grad_norm > 0:
            nn.utils.clip_grad_norm_(self.network.parameters(), max_grad_norm)
        self.optimizer.step()

    def _iterate(self) -> dict[str, Any]:
        raise NotImplementedError

    def _diag_batch(self) -> torch.Tensor:
        return self.obs

    def _spread_norms(self, norms: dict[str, float]) -> dict[str, float]:
        """The gradient norms whose spread across depth is logged, input first (all of them here)."""
        return norms

    def step(self) -> dict[str, Any] | None:
        """One training iteration; a metrics record at log points, else ``None``."""
        metrics = self._iterate()
        self.iteration += 1
        last = self.iteration == self.total_iterations
        if not (last or self.iteration % self.log_every == 0 or self.iteration == 1):
            return None
        record: dict[str, Any] = {
            "iteration": self.iteration,
            "global_step": self.global_step,
            "episodic_return": self.tracker.recent_return(),
            "episodes": len(self.tracker.returns),
            **metrics,
        }
        if self.last_grad_norms:
            record["grad_norms"] = list(self.last_grad_norms.values())
            record["grad_spread"] = gradient_spread(self._spread_norms(self.last_grad_norms))
        if last or self.iteration % self.diag_every == 0:
            rep = representation_metrics(self.network, self._diag_batch())
            rep.pop("dead_per_layer")
            record.update(rep)
        return record

    def layer_names(self) -> list[str]:
        """Names of the weight tensors whose gradient norms are logged, input first."""
        return [n for n, p in self.network.named_parameters() if p.dim() >= 2]

    def summary(self) -> dict[str, Any]:
        """Final figures of the run."""
        returns = self.tracker.returns
        return {
            "global_step": self.global_step,
            "episodes": len(returns),
            "final_return": self.tracker.recent_return(),
            "best_window_return": max(
                (float(np.mean(returns[max(0, i - 19) : i + 1])) for i in range(len(returns))), default=None
            ),
        }

    def extra_state(self) -> dict[str, Any]:
        """Algorithm-specific state for checkpoints (override)."""
        return {}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        """Inverse of :meth:`extra_state` (override)."""

    def state_dict(self) -> dict[str, Any]:
        """Everything the next iteration depends on: networks, optimizer, every RNG, the envs' state
        (or ``None`` where it cannot be saved, see :mod:`stable_grad_rl.envstate`), counters, episodes."""
        try:
            envs: dict[str, Any] | None = env_state(self.envs)
        except EnvStateError:
            envs = None
        return {
            "network": self.network.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "iteration": self.iteration,
            "global_step": self.global_step,
            "returns": self.tracker.returns,
            "lengths": self.tracker.lengths,
            "episode_ret": torch.from_numpy(self.tracker.ret.copy()),
            "episode_len": torch.from_numpy(self.tracker.len.copy()),
            "obs": self.obs.detach().cpu().clone(),
            "last_grad_norms": dict(self.last_grad_norms),
            "torch_rng": torch.get_rng_state(),
            "np_rng": self.rng.bit_generator.state,
            "py_rng": encode(random.getstate(), "random"),
            "envs": envs,
            "next_done": getattr(self, "next_done", None),
            "extra": self.extra_state(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Inverse of :meth:`state_dict`. Where the envs' state was not saved they restart from a reset
        seeded by the iteration and :attr:`inexact_resume` says why (one line)."""
        self.network.load_state_dict(state["network"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.iteration = int(state["iteration"])
        self.global_step = int(state["global_step"])
        self.tracker.returns = list(state["returns"])
        self.tracker.lengths = list(state["lengths"])
        torch.set_rng_state(state["torch_rng"].cpu())
        self.rng.bit_generator.state = state["np_rng"]
        self.load_extra_state(state["extra"])
        if state.get("envs") is not None:
            load_env_state(self.envs, state["envs"])
            self.obs = state["obs"].to(self.device)
            self.tracker.ret[:] = state["episode_ret"].numpy()
            self.tracker.len[:] = state["episode_len"].numpy()
            self.last_grad_norms = {str(k): float(v) for k, v in state["last_grad_norms"].items()}
            random.setstate(decode(state["py_rng"]))
            if state["next_done"] is not None:
                self.next_done = state["next_done"].to(self.device)
            return
        try:
            env_state(self.envs)
        except EnvStateError as err:
            self.inexact_resume = (
                f"the environment state cannot be saved ({err}); the envs restart from a reset"
            )
        else:
            self.inexact_resume = "the checkpoint holds no environment state; the envs restart from a reset"
        self.obs = self._reset(self.seed + 100_003 * self.iteration)
        self.tracker.ret[:] = 0.0
        self.tracker.len[:] = 0
