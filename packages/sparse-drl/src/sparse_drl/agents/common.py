"""Shared pieces of the off-policy agents: replay buffer, environments, the collect/update loop, state."""

from __future__ import annotations

import math
import random
import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from torch import nn

from sparse_drl.allocation import METHODS, check_sparsity
from sparse_drl.diagnostics import pruned_zero_fraction
from sparse_drl.envstate import UnsaveableEnv, pack, restore_envs, snapshot_envs, unpack
from sparse_drl.networks import ARCHS
from sparse_drl.optim import OPTIMIZERS

__all__ = ["BaseConfig", "OffPolicyAgent", "ReplayBuffer", "check_device", "check_env_id", "make_envs"]


def check_device(device: object) -> torch.device:
    """``device`` as a ``torch.device``; a clear error when it is malformed or not available here."""
    try:
        dev: torch.device = torch.device(device)  # type: ignore[call-overload]
    except (RuntimeError, TypeError) as err:
        raise ValueError(f"device must be a torch device string, got {device!r}") from err
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} requested but CUDA is not available on this machine")
    if dev.type == "cuda" and dev.index is not None and dev.index >= torch.cuda.device_count():
        raise ValueError(f"device {device!r}: only {torch.cuda.device_count()} CUDA device(s) here")
    if dev.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"device {device!r} requested but MPS is not available on this machine")
    if dev.type not in ("cpu", "cuda", "mps"):
        raise ValueError(f"device must be cpu, cuda[:N] or mps, got {device!r}")
    return dev


def check_env_id(env_id: object) -> str:
    """``env_id`` if Gymnasium knows it (registered id), else a clear error naming it."""
    if not isinstance(env_id, str) or not env_id:
        raise ValueError(f"env_id must be a Gymnasium id string, got {env_id!r}")
    try:
        gym.spec(env_id)
    except gym.error.Error as err:
        raise ValueError(f"unknown Gymnasium environment {env_id!r} ({err})") from None
    return env_id


@dataclass
class BaseConfig:
    """Options shared by SAC and DQN (see each agent for the paper's defaults)."""

    env_id: str = "Pendulum-v1"
    num_envs: int = 1
    total_steps: int = 100_000
    learning_starts: int = 5_000
    replay_ratio: float = 2.0  # gradient updates per environment step
    batch_size: int = 256
    buffer_size: int = 1_000_000
    gamma: float = 0.99
    arch: str = "simba"
    sparsity_method: str = "erk"
    optimizer: str = "adamw"
    eval_every: int = 5_000
    eval_episodes: int = 10
    log_every: int = 5_000  # diagnostics interval (environment steps)
    seed: int = 0
    device: str = "cpu"
    threads: int = 1  # torch threads of the run (set when it starts; small networks run best on one)

    def validate(self) -> None:
        """Raise a clear error on a bad value."""
        for name in (
            "num_envs",
            "total_steps",
            "batch_size",
            "buffer_size",
            "eval_every",
            "eval_episodes",
            "log_every",
            "threads",
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        if self.learning_starts < 0:
            raise ValueError(f"learning_starts must be >= 0, got {self.learning_starts!r}")
        if not (
            isinstance(self.replay_ratio, (int, float))
            and self.replay_ratio > 0
            and math.isfinite(self.replay_ratio)
        ):
            raise ValueError(f"replay_ratio must be a positive number, got {self.replay_ratio!r}")
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, float) and not math.isfinite(value):
                raise ValueError(f"{f.name} must be finite, got {value!r}")
            if (f.name == "lr" or f.name.endswith("_lr")) and not (
                isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0
            ):
                raise ValueError(f"{f.name} must be a positive number, got {value!r}")
            if f.name.endswith("sparsity"):
                check_sparsity(value, f.name)
        if not 0.0 <= self.gamma <= 1.0:
            raise ValueError(f"gamma must be in [0, 1], got {self.gamma!r}")
        for name, allowed in (("sparsity_method", METHODS), ("arch", ARCHS), ("optimizer", OPTIMIZERS)):
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {list(allowed)}, got {getattr(self, name)!r}")
        check_device(self.device)
        check_env_id(self.env_id)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> BaseConfig:
        """Build from a dict, rejecting unknown keys by name."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown {cls.__name__} option(s): {unknown}")
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict of the options."""
        return asdict(self)


class ReplayBuffer:
    """Uniform FIFO replay buffer on numpy arrays (vectorised add over environments)."""

    def __init__(
        self, capacity: int, obs_shape: tuple[int, ...], act_shape: tuple[int, ...], act_dtype: type
    ) -> None:
        self.capacity = int(capacity)
        self.obs = np.zeros((self.capacity, *obs_shape), dtype=np.float32)
        self.next_obs = np.zeros((self.capacity, *obs_shape), dtype=np.float32)
        self.actions: np.ndarray = np.zeros((self.capacity, *act_shape), dtype=act_dtype)
        self.rewards = np.zeros(self.capacity, dtype=np.float32)
        self.dones = np.zeros(self.capacity, dtype=np.float32)
        self.pos = 0
        self.size = 0

    def add(
        self,
        obs: np.ndarray,
        actions: np.ndarray,
        rewards: np.ndarray,
        next_obs: np.ndarray,
        dones: np.ndarray,
    ) -> None:
        """Append one transition per environment."""
        n = obs.shape[0]
        idx = (self.pos + np.arange(n)) % self.capacity
        self.obs[idx] = obs
        self.actions[idx] = actions
        self.rewards[idx] = rewards
        self.next_obs[idx] = next_obs
        self.dones[idx] = dones
        self.pos = int((self.pos + n) % self.capacity)
        self.size = int(min(self.size + n, self.capacity))

    def sample(
        self, batch_size: int, rng: np.random.Generator, device: torch.device | None = None
    ) -> dict[str, torch.Tensor]:
        """A uniform batch as torch tensors (on ``device`` when given)."""
        idx = rng.integers(0, self.size, size=batch_size)
        batch = {
            "obs": torch.from_numpy(self.obs[idx]),
            "actions": torch.from_numpy(self.actions[idx]),
            "rewards": torch.from_numpy(self.rewards[idx]),
            "next_obs": torch.from_numpy(self.next_obs[idx]),
            "dones": torch.from_numpy(self.dones[idx]),
        }
        if device is not None and device.type != "cpu":
            batch = {k: v.to(device, non_blocking=True) for k, v in batch.items()}
        return batch

    def state_dict(self) -> dict[str, Any]:
        """Filled part of the buffer as tensors (for ``torch.save`` / ``weights_only`` loading)."""
        n = self.size
        return {
            "obs": torch.from_numpy(self.obs[:n].copy()),
            "next_obs": torch.from_numpy(self.next_obs[:n].copy()),
            "actions": torch.from_numpy(self.actions[:n].copy()),
            "rewards": torch.from_numpy(self.rewards[:n].copy()),
            "dones": torch.from_numpy(self.dones[:n].copy()),
            "pos": self.pos,
            "size": self.size,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore from ``state_dict``."""
        n = int(state["size"])
        if n > self.capacity:
            raise ValueError(f"checkpoint buffer holds {n} transitions, capacity is {self.capacity}")
        for key in ("obs", "next_obs", "actions", "rewards", "dones"):
            getattr(self, key)[:n] = state[key].numpy()
        self.pos, self.size = int(state["pos"]), n


def make_envs(env_id: str, num_envs: int) -> gym.vector.VectorEnv[Any, Any, Any]:
    """Synchronous vector env with same-step autoreset (``info['final_obs']`` holds the true last obs)."""
    return gym.make_vec(
        env_id,
        num_envs=num_envs,
        vectorization_mode="sync",
        vector_kwargs={"autoreset_mode": gym.vector.AutoresetMode.SAME_STEP},
    )


class OffPolicyAgent:
    """The collect -> store -> update loop shared by SAC and DQN; subclasses define networks and updates."""

    config: BaseConfig
    buffer: ReplayBuffer  # built by the subclass once the spaces are known

    def __init__(self, config: BaseConfig) -> None:
        config.validate()
        self.config = config
        self.device = torch.device(config.device)
        torch.manual_seed(config.seed)
        self.rng = np.random.default_rng(config.seed)
        self.envs = make_envs(config.env_id, config.num_envs)
        self.eval_env = gym.make(config.env_id)
        self.envs.action_space.seed(config.seed)
        self.step = 0
        self.updates = 0
        self.episodes = 0
        self._update_debt = 0.0
        self.recent_returns: deque[float] = deque(maxlen=20)
        self._obs: np.ndarray | None = None
        self._ep_ret = np.zeros(config.num_envs)
        self._t0 = time.perf_counter()
        self._last_update_info: dict[str, float] = {}
        self.inexact_resume: str | None = None

    # -- to be defined by subclasses ------------------------------------------------------------
    def act(self, obs: np.ndarray, explore: bool) -> np.ndarray:
        """Actions for a batch of observations (``explore`` adds the agent's exploration)."""
        raise NotImplementedError

    def to_env_action(self, actions: np.ndarray) -> np.ndarray:
        """Map stored actions to the environment's action space."""
        return actions

    def update(self, record: bool = False) -> dict[str, float]:
        """One gradient update from a replay batch; returns losses (and grad norms when ``record``)."""
        raise NotImplementedError

    def networks(self) -> dict[str, nn.Module]:
        """The agent's modules by name (online and target)."""
        raise NotImplementedError

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        """The agent's optimizers by name."""
        raise NotImplementedError

    def diagnostics(self) -> dict[str, float]:
        """Plasticity diagnostics on a replay batch."""
        raise NotImplementedError

    def observe(self, obs: np.ndarray) -> None:
        """Hook for running observation statistics."""

    def extra_state(self) -> dict[str, Any]:
        """Extra tensors to checkpoint (e.g. SAC's temperature)."""
        return {}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        """Restore ``extra_state``."""

    # -- shared loop ---------------------------------------------------------------------------
    def _reset(self) -> None:
        obs, _ = self.envs.reset(seed=self.config.seed + 7919 * (self.step // max(self.config.num_envs, 1)))
        self._obs = obs.astype(np.float32)
        self._ep_ret[:] = 0.0
        self.observe(self._obs)

    def collect(self) -> None:
        """One vector-env step: act, store the transitions, count finished episodes."""
        if self._obs is None:
            self._reset()
        obs = self._obs
        assert obs is not None
        if self.step < self.config.learning_starts:
            actions = self.random_actions()
        else:
            actions = self.act(obs, explore=True)
        next_obs, rewards, term, trunc, info = self.envs.step(self.to_env_action(actions))
        next_obs = next_obs.astype(np.float32)
        done = np.logical_or(term, trunc)
        real_next = next_obs.copy()
        if done.any():
            final = info["final_obs"]
            for i in np.flatnonzero(done):
                real_next[i] = final[i]
        self.buffer.add(obs, actions, rewards, real_next, term.astype(np.float32))
        self._ep_ret += rewards
        for i in np.flatnonzero(done):
            self.recent_returns.append(float(self._ep_ret[i]))
            self._ep_ret[i] = 0.0
            self.episodes += 1
        self._obs = next_obs
        self.observe(next_obs)
        self.step += self.config.num_envs

    def random_actions(self) -> np.ndarray:
        """Uniform random actions in the stored action format."""
        raise NotImplementedError

    def train(
        self,
        until: int | None = None,
        on_metrics: Callable[[dict[str, Any]], None] | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> list[dict[str, Any]]:
        """Run the loop until ``until`` env steps (default ``total_steps``); metrics every eval/log point."""
        cfg = self.config
        until = cfg.total_steps if until is None else int(until)
        records: list[dict[str, Any]] = []
        while self.step < until:
            before = self.step
            self.collect()
            if self.step >= cfg.learning_starts and self.buffer.size >= cfg.batch_size:
                self._update_debt += cfg.replay_ratio * (self.step - before)
                while self._update_debt >= 1.0:
                    self._update_debt -= 1.0
                    record = self._update_debt < 1.0 and self._crossed(before, self.step, cfg.log_every)
                    info = self.update(record=record)
                    self.updates += 1
                    if record:
                        self._last_update_info = info
            if progress is not None:
                progress(self.step - before)
            log_now = self._crossed(before, self.step, cfg.log_every)
            eval_now = self._crossed(before, self.step, cfg.eval_every) or self.step >= until
            if log_now or eval_now:
                rec = self.metrics(evaluate=eval_now, diagnose=log_now or self.step >= until)
                records.append(rec)
                if on_metrics is not None:
                    on_metrics(rec)
        return records

    @staticmethod
    def _crossed(before: int, after: int, every: int) -> bool:
        return after // every > before // every

    def evaluate(self, episodes: int | None = None) -> float:
        """Mean undiscounted return of the deterministic policy over ``episodes`` evaluation episodes."""
        n = self.config.eval_episodes if episodes is None else episodes
        total = 0.0
        for k in range(n):
            obs, _ = self.eval_env.reset(seed=10_000 + self.config.seed * 1000 + k)
            done = False
            while not done:
                action = self.act(obs[None].astype(np.float32), explore=False)
                obs, reward, term, trunc, _ = self.eval_env.step(self.to_env_action(action)[0])
                total += float(reward)
                done = bool(term or trunc)
        return total / n

    def metrics(self, evaluate: bool = True, diagnose: bool = True) -> dict[str, Any]:
        """One metrics record: step counters, returns, diagnostics, exact-zero check."""
        rec: dict[str, Any] = {
            "step": self.step,
            "updates": self.updates,
            "episodes": self.episodes,
            "train_return": float(np.mean(self.recent_returns)) if self.recent_returns else None,
            "time_s": time.perf_counter() - self._t0,
        }
        if evaluate:
            rec["eval_return"] = self.evaluate()
        if diagnose and self.buffer.size >= 2:
            rec.update(self.diagnostics())
            rec.update(self._last_update_info)
            rec["pruned_zero_frac"] = min(pruned_zero_fraction(m) for m in self.networks().values())
        return rec

    # -- checkpoints ---------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """Everything the next step depends on: networks, optimizers, buffer, counters, every RNG, the
        training envs' state (``None`` where it is not plain data, see :mod:`sparse_drl.envstate`), the
        current observations and the returns of the episodes in progress."""
        try:
            envs: dict[str, Any] | None = snapshot_envs(self.envs)
        except UnsaveableEnv:
            envs = None
        return {
            "config": self.config.to_dict(),
            "networks": {k: m.state_dict() for k, m in self.networks().items()},
            "optimizers": {k: o.state_dict() for k, o in self.optimizers().items()},
            "extra": self.extra_state(),
            "buffer": self.buffer.state_dict(),
            "counters": {"step": self.step, "updates": self.updates, "episodes": self.episodes},
            "update_debt": self._update_debt,
            "recent_returns": list(self.recent_returns),
            "torch_rng": torch.get_rng_state(),
            "np_rng": self.rng.bit_generator.state,
            "py_rng": pack(random.getstate(), "random"),
            "envs": envs,
            "obs": None if self._obs is None else torch.from_numpy(self._obs.copy()),
            "episode_returns": torch.from_numpy(self._ep_ret.copy()),
            "last_update_info": dict(self._last_update_info),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore from ``state_dict``. Without a saved env state the episodes in progress restart from a
        reset and :attr:`inexact_resume` says why (one line)."""
        for key, module in self.networks().items():
            module.load_state_dict(state["networks"][key])
        for key, opt in self.optimizers().items():
            opt.load_state_dict(state["optimizers"][key])
        self.load_extra_state(state["extra"])
        self.buffer.load_state_dict(state["buffer"])
        self.step = int(state["counters"]["step"])
        self.updates = int(state["counters"]["updates"])
        self.episodes = int(state["counters"]["episodes"])
        self._update_debt = float(state["update_debt"])
        self.recent_returns = deque(state["recent_returns"], maxlen=20)
        torch.set_rng_state(state["torch_rng"])
        self.rng.bit_generator.state = state["np_rng"]
        self._obs = None
        if state.get("envs") is None:
            try:
                snapshot_envs(self.envs)
                self.inexact_resume = (
                    "the checkpoint holds no environment state; episodes restart from a reset"
                )
            except UnsaveableEnv as err:
                self.inexact_resume = (
                    f"the environment cannot be saved ({err}); episodes restart from a reset"
                )
            return
        restore_envs(self.envs, state["envs"])
        random.setstate(unpack(state["py_rng"]))
        if state["obs"] is not None:
            self._obs = state["obs"].numpy().copy()
        self._ep_ret[:] = state["episode_returns"].numpy()
        self._last_update_info = {str(k): float(v) for k, v in state["last_update_info"].items()}

    def close(self) -> None:
        """Close the environments."""
        self.envs.close()
        self.eval_env.close()  # type: ignore[no-untyped-call]
