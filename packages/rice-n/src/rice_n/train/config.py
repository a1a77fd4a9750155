"""Training configuration: a dataclass with upstream's hyperparameters, and the named presets."""

from __future__ import annotations

import itertools
import math
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from rice_n.protocols import Protocol, protocol_spec, resolve_protocol

ALGOS = ("ppo", "a2c")


@dataclass(frozen=True)
class TrainConfig:
    """Hyperparameters of one training run (defaults: the ``ppo`` preset).

    Shared with upstream (``rice-n`` paper section 5, RLlib/WarpDrive yaml): one policy for all regions,
    FC [256, 256] ReLU trunk, a categorical head per action dim, a value head, gamma 0.92, lr 5e-4,
    value coefficient 0.1, gradient clip 0.5. ``entropy_schedule`` is piecewise linear in env steps
    (episodes x env steps per episode, as RLlib counts them).
    """

    algo: str = "ppo"
    episodes: int = 300
    num_envs: int = 20
    #: a registered protocol name, or a :class:`rice_n.Protocol` instance (saved as name + parameters)
    protocol: str | Protocol = "none"
    mode: str = "upstream"
    hidden: tuple[int, ...] = (256, 256)
    gamma: float = 0.92
    gae_lambda: float = 0.95
    lr: float = 5e-4
    vf_coeff: float = 0.1
    grad_clip: float = 0.5
    entropy_schedule: tuple[tuple[float, float], ...] = ((0.0, 0.01),)
    # PPO only
    clip_param: float = 0.2
    epochs: int = 4
    minibatches: int = 4
    normalize_advantages: bool = True
    # only the action dims the current stage uses count in log-probs and entropy
    stage_dims: bool = True
    seed: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        proto = resolve_protocol(self.protocol)  # ProtocolError (a ValueError) for an unknown one
        try:
            spec = protocol_spec(proto)
        except ValueError:
            spec = None  # not saveable: train() refuses it with a clear message
        object.__setattr__(self, "protocol", spec if isinstance(spec, str) else proto)
        for name in ("gamma", "gae_lambda", "lr", "vf_coeff", "grad_clip", "clip_param"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ValueError(f"{name} must be a finite number, got {value!r}")
        if self.lr <= 0 or self.grad_clip <= 0 or self.clip_param <= 0 or self.vf_coeff < 0:
            raise ValueError(
                f"lr, grad_clip and clip_param must be > 0 and vf_coeff >= 0, got lr={self.lr!r}, "
                f"grad_clip={self.grad_clip!r}, clip_param={self.clip_param!r}, vf_coeff={self.vf_coeff!r}"
            )
        if not all(math.isfinite(float(x)) for p in self.entropy_schedule for x in p):
            raise ValueError(f"entropy_schedule must hold finite numbers, got {self.entropy_schedule!r}")
        if self.algo not in ALGOS:
            raise ValueError(f"algo must be one of {ALGOS}, got {self.algo!r}")
        for name in ("episodes", "num_envs", "epochs", "minibatches"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if not self.hidden or any(int(h) < 1 for h in self.hidden):
            raise ValueError(f"hidden must be a non-empty tuple of positive sizes, got {self.hidden!r}")
        if not 0.0 <= self.gamma <= 1.0 or not 0.0 <= self.gae_lambda <= 1.0:
            raise ValueError(f"gamma and gae_lambda must be in [0, 1], got {self.gamma}, {self.gae_lambda}")
        if not self.entropy_schedule:
            raise ValueError("entropy_schedule must have at least one (env_step, coefficient) point")

    @property
    def protocol_obj(self) -> Protocol:
        """The protocol as an instance."""
        return resolve_protocol(self.protocol)

    @property
    def iterations(self) -> int:
        """Training iterations: one batch of ``num_envs`` lockstep episodes each (rounded up)."""
        return -(-self.episodes // self.num_envs)

    def entropy_coeff(self, env_steps: float) -> float:
        """Entropy coefficient after ``env_steps`` env steps (piecewise linear, constant outside)."""
        pts = sorted(self.entropy_schedule)
        if env_steps <= pts[0][0]:
            return float(pts[0][1])
        for (x0, y0), (x1, y1) in itertools.pairwise(pts):
            if env_steps <= x1:
                return float(y0 + (y1 - y0) * (env_steps - x0) / (x1 - x0))
        return float(pts[-1][1])

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict (tuples as lists, the protocol as its saved spec; ProtocolError if unsaveable)."""
        d = asdict(self)
        d["protocol"] = protocol_spec(self.protocol)
        d["hidden"] = list(self.hidden)
        d["entropy_schedule"] = [list(p) for p in self.entropy_schedule]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainConfig:
        """Inverse of :meth:`to_dict` (unknown keys raise ValueError)."""
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise ValueError(f"unknown training config keys: {unknown}")
        d = dict(d)
        if "hidden" in d:
            d["hidden"] = tuple(int(h) for h in d["hidden"])
        if "entropy_schedule" in d:
            d["entropy_schedule"] = tuple((float(a), float(b)) for a, b in d["entropy_schedule"])
        return cls(**d)

    def replace(self, **changes: Any) -> TrainConfig:
        """A copy with some fields changed."""
        return replace(self, **changes)


#: Upstream's entropy schedule (RLlib and WarpDrive yaml): 0.5 -> 0.1 at 1e6 steps -> 0.05 at 5e6.
UPSTREAM_ENTROPY = ((0.0, 0.5), (1e6, 0.1), (5e6, 0.05))

#: Named presets. ``ppo`` (default): the paper's Fig. 2 algorithm with upstream's shared
#: hyperparameters (the paper gives no PPO-specific values: clip 0.2, 4 epochs x 4 minibatches, GAE 0.95,
#: normalized advantages and entropy 0.01 are ours). ``a2c-rllib``: upstream's RLlib yaml (A2C, batch
#: 2000 env steps = 100 lockstep episodes per update, entropy schedule 0.5 -> 0.05). ``a2c-warpdrive``:
#: upstream's WarpDrive yaml (A2C, 100 envs, batch 10000 env steps = 500 episodes per update).
PRESETS: dict[str, TrainConfig] = {
    "ppo": TrainConfig(),
    "a2c-rllib": TrainConfig(
        algo="a2c",
        num_envs=100,
        gae_lambda=1.0,
        entropy_schedule=UPSTREAM_ENTROPY,
        normalize_advantages=False,
        epochs=1,
        minibatches=1,
        stage_dims=False,
    ),
    "a2c-warpdrive": TrainConfig(
        algo="a2c",
        num_envs=500,
        episodes=1000,
        gae_lambda=1.0,
        entropy_schedule=UPSTREAM_ENTROPY,
        normalize_advantages=False,
        epochs=1,
        minibatches=1,
        stage_dims=False,
    ),
    "a2c": TrainConfig(algo="a2c", num_envs=20, gae_lambda=1.0, epochs=1, minibatches=1),
}


def preset(name: str, **overrides: Any) -> TrainConfig:
    """The named preset with some fields overridden (``None`` values are ignored)."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose one of {sorted(PRESETS)}")
    return PRESETS[name].replace(**{k: v for k, v in overrides.items() if v is not None})
