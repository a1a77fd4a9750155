"""Evaluate a policy (a trained run, or the uniform random policy) with upstream's competition metrics.

K episodes run together on the batched env; ``metrics.json`` holds the means of ``rice-n simulate``'s
metrics (temperature rise, gross output, climate and economic indices, episode reward, carbon mass),
their standard deviations, the per-episode values, the hypervolume of the episodes' (climate, economic)
points, and the share of sampled actions that broke a mask (always 0 for masked policies).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rice_n import __version__
from rice_n._io import write_csv_atomic, write_json_atomic
from rice_n.batch import BatchRiceEnv
from rice_n.metrics import hypervolume
from rice_n.protocols import Protocol, protocol_spec, resolve_protocol

#: The headline keys (those of ``rice-n simulate``'s metrics.json).
METRIC_KEYS = (
    "temperature_rise",
    "gross_output",
    "climate_index",
    "economic_index",
    "episode_reward",
    "carbon_mass",
)
#: Per-activity-step series kept in the trajectory (means over episodes; economic ones summed over regions).
TRAJECTORY_KEYS = (
    "T_AT",
    "M_AT",
    "gross_output",
    "consumption",
    "reward",
    "mean_savings",
    "mean_mitigation",
)
#: Upstream's evaluation seed (``evaluate_submission.py``).
UPSTREAM_EVAL_SEED = 1234567890


class RandomActor:
    """Uniformly random levels among those the mask allows (the baseline a trained policy must beat)."""

    name = "random"

    def __init__(self, nvec: Any, seed: int) -> None:
        self.nvec = np.asarray(nvec, dtype=np.int64)
        self.offsets = np.concatenate([[0], np.cumsum(self.nvec)[:-1]])
        self.rng = np.random.default_rng(seed)

    def __call__(self, obs: Any, mask: np.ndarray, stage: int) -> np.ndarray:
        """Actions ``(B, N, D)``: per dim, a uniform level among the allowed ones (Gumbel-max on the mask)."""
        m = np.asarray(mask, dtype=bool)
        lmax = int(self.nvec.max())
        idx = self.offsets[:, None] + np.arange(lmax)[None, :]
        valid = np.arange(lmax)[None, :] < self.nvec[:, None]
        allowed = np.where(valid, m[..., np.minimum(idx, m.shape[-1] - 1)], False)  # (B, N, D, L)
        score = np.where(allowed, self.rng.random(allowed.shape), -1.0)
        best: np.ndarray = score.argmax(-1)
        return best


class PolicyActor:
    """A trained shared policy: samples from its masked distribution (or its argmax with ``greedy``)."""

    name = "policy"

    def __init__(self, policy: Any, seed: int, greedy: bool = False) -> None:
        import torch

        self.policy = policy.eval()
        self.greedy = greedy
        self.generator = torch.Generator().manual_seed(int(seed))

    def __call__(self, obs: Any, mask: np.ndarray, stage: int) -> np.ndarray:
        """Actions ``(B, N, D)`` for observations ``(B, N, F)`` and masks ``(B, N, M)``."""
        import torch

        from rice_n.train.policy import sample_actions

        with torch.no_grad():
            o = torch.as_tensor(np.asarray(obs), dtype=torch.float32)
            m = torch.as_tensor(np.asarray(mask)).bool()
            shared, private = self.policy.split.split(o)
            logits, _ = self.policy.forward_split(shared, private)
            padded = self.policy.padded(logits, m)
            return sample_actions(padded, self.generator, self.greedy).numpy()


@dataclass
class EvalResult:
    """Metrics of K evaluation episodes: means, standard deviations, per-episode values, trajectory."""

    metrics: dict[str, float]
    std: dict[str, float]
    per_episode: dict[str, list[float]]
    trajectory: dict[str, list[float]]
    region_mitigation: list[list[float]]  # (activity steps, N) mean over episodes
    region_savings: list[list[float]]
    masked_actions: int
    config: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The ``metrics.json`` object: headline means at top level, then the details."""
        points = np.stack([self.per_episode["climate_index"], self.per_episode["economic_index"]], axis=1)
        return {
            **self.metrics,
            "hypervolume": hypervolume(points),
            "std": self.std,
            "episodes": len(self.per_episode["episode_reward"]),
            "masked_actions": self.masked_actions,
            "per_episode": self.per_episode,
            "config": self.config,
            "rice_n_version": __version__,
        }


def _activity_states(env: BatchRiceEnv) -> list[Any]:
    """The recorded states after each activity step (negotiation steps repeat the previous state)."""
    out, last_t = [], None
    for s in env.history:
        if s.t != last_t:
            out.append(s)
            last_t = s.t
    return out


def run_episodes(env: BatchRiceEnv, actor: Any) -> tuple[dict[str, np.ndarray], int]:
    """Play ``env``'s B episodes to the end with ``actor``; returns (episode metrics, masked actions taken)."""
    obs, mask = env.reset()
    nvec = env.action_nvec
    offsets = np.concatenate([[0], np.cumsum(nvec)[:-1]])
    masked = 0
    done = False
    while not done:
        stage = env.next_stage
        actions = np.asarray(actor(obs, mask, stage), dtype=np.int64)
        flat = np.take_along_axis(np.asarray(mask), actions + offsets, axis=-1)
        masked += int((flat == 0).sum())
        obs, mask, _, done, _ = env.step(actions)
    return env.episode_metrics(), masked


def evaluate_actor(
    actor: Any,
    episodes: int = 10,
    protocol: str | dict[str, Any] | Protocol = "none",
    mode: str = "upstream",
    config: dict[str, Any] | None = None,
) -> EvalResult:
    """Run ``episodes`` episodes (in one batch) with ``actor`` and gather the metrics and trajectories."""
    if isinstance(episodes, bool) or not isinstance(episodes, int) or episodes < 1:
        raise ValueError(f"episodes must be a positive integer, got {episodes!r}")
    protocol = resolve_protocol(protocol)
    env = BatchRiceEnv(num_envs=episodes, protocol=protocol, mode=mode, record=True)
    m, masked = run_episodes(env, actor)
    states = _activity_states(env)  # t = 0 (2015) included, as in rice-n simulate
    traj: dict[str, list[float]] = {"year": [], **{k: [] for k in TRAJECTORY_KEYS}}
    mit, sav = [], []
    for s in states:
        traj["year"].append(int(env.params.start_year + env.params.delta * s.t))
        traj["T_AT"].append(float(np.mean(s.T[:, 0])))
        traj["M_AT"].append(float(np.mean(s.M[:, 0])))
        for key in ("gross_output", "consumption", "reward"):
            traj[key].append(float(np.mean(np.sum(getattr(s, key), -1))))
        traj["mean_savings"].append(float(np.mean(s.savings)))
        traj["mean_mitigation"].append(float(np.mean(s.mitigation)))
        mit.append(np.mean(s.mitigation, 0).tolist())
        sav.append(np.mean(s.savings, 0).tolist())
    return EvalResult(
        metrics={k: float(np.mean(m[k])) for k in METRIC_KEYS},
        std={k: float(np.std(m[k])) for k in METRIC_KEYS},
        per_episode={k: [float(x) for x in m[k]] for k in METRIC_KEYS},
        trajectory=traj,
        region_mitigation=mit,
        region_savings=sav,
        masked_actions=masked,
        config={"episodes": episodes, "protocol": _spec_or_name(protocol), "mode": mode, **(config or {})},
    )


def _spec_or_name(protocol: Protocol) -> Any:
    """The saved spec of a protocol, or its class name when it cannot be saved (a label only)."""
    try:
        return protocol_spec(protocol)
    except ValueError:
        return type(protocol).__name__


def evaluate_policy(
    policy: str | Path,
    episodes: int = 10,
    seed: int = 0,
    greedy: bool = False,
    protocol: str | dict[str, Any] | Protocol = "none",
) -> EvalResult:
    """Evaluate a policy: a run folder / policy file, or ``"random"`` (uniform over allowed levels).

    The env (protocol with its parameters, mode) of a trained policy is the one it was trained on (read
    from its header); ``protocol`` (a name, a saved spec or an instance) is the env of the random policy.
    ``seed`` seeds the sampled actions.
    """
    if isinstance(episodes, bool) or not isinstance(episodes, int) or episodes < 1:
        raise ValueError(f"episodes must be a positive integer, got {episodes!r}")
    if str(policy) == "random":
        protocol = resolve_protocol(protocol)
        env = BatchRiceEnv(num_envs=1, protocol=protocol, observe=False)
        actor: Any = RandomActor(env.action_nvec, seed)
        return evaluate_actor(actor, episodes, protocol=protocol, config={"policy": "random", "seed": seed})
    from rice_n.train.store import load_policy

    net, meta = load_policy(policy)
    info = meta.get("env", {})
    protocol, mode = info.get("protocol", "none"), info.get("mode", "upstream")
    actor = PolicyActor(net, seed, greedy)
    cfg = {"policy": str(policy), "seed": seed, "greedy": greedy}
    return evaluate_actor(actor, episodes, protocol=protocol, mode=mode, config=cfg)


def write_evaluation(result: EvalResult, out: str | Path, plots: bool = True) -> dict[str, Any]:
    """Write ``metrics.json``, ``trajectory.csv`` and (with matplotlib) PNG plots under ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    payload = result.to_json()
    write_json_atomic(out / "metrics.json", payload)
    n = len(result.trajectory["year"])
    rows = [{k: v[i] for k, v in result.trajectory.items()} for i in range(n)]
    write_csv_atomic(out / "trajectory.csv", rows, ["year", *TRAJECTORY_KEYS])
    written: list[str] = []
    if plots:
        from rice_n.plots import plot_evaluation

        written = plot_evaluation(result, out)
    payload["plots"] = written
    return payload


def summary_line(metrics: dict[str, Any]) -> str:
    """One line: reward, temperature rise, indices."""
    parts = [
        f"episode reward {metrics['episode_reward']:.2f}",
        f"temperature rise {metrics['temperature_rise']:.3f} °C",
        f"climate index {metrics['climate_index']:.3f}",
        f"economic index {metrics['economic_index']:.3f}",
    ]
    if not all(math.isfinite(float(metrics[k])) for k in ("episode_reward", "temperature_rise")):
        parts.append("(non-finite values)")
    return ", ".join(parts)
