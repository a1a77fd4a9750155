"""Non-stationary supervised learning: the paper's motivating experiment without RL.

Generated data (no download): ``n_samples`` Gaussian inputs of ``in_dim`` features and ``n_classes``
classes. Every ``steps_per_phase`` optimizer steps the task shifts:

* ``shift="labels"``: the labels are redrawn uniformly at random (random-label memorisation, the
  CPU analogue of the paper's CIFAR-10 label reshuffles at epochs 20/40/60/80);
* ``shift="inputs"``: the labels stay, the inputs are rotated by a fresh random orthogonal matrix.

The trainer is step-wise and checkpointable so :mod:`stable_grad_rl.train` can resume it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from stable_grad_rl.diagnostics import grad_norms, gradient_spread, representation_metrics, weight_norms
from stable_grad_rl.networks import NetworkConfig, build_network, count_params
from stable_grad_rl.optim import make_optimizer

SHIFTS = ("labels", "inputs")


@dataclass
class NonStationaryConfig:
    """Task and training settings (defaults: the brief's probe, 5 phases x 400 steps)."""

    n_samples: int = 2048
    in_dim: int = 32
    n_classes: int = 10
    n_phases: int = 5
    steps_per_phase: int = 400
    batch_size: int = 256
    shift: str = "labels"
    lr: float = 1e-3
    max_grad_norm: float = 0.0
    log_every: int = 50

    def validate(self) -> NonStationaryConfig:
        """Raise ``ValueError`` naming the bad field; return self."""
        for name in (
            "n_samples",
            "in_dim",
            "n_classes",
            "n_phases",
            "steps_per_phase",
            "batch_size",
            "log_every",
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
        if self.n_classes < 2:
            raise ValueError(f"n_classes must be >= 2, got {self.n_classes}")
        if self.shift not in SHIFTS:
            raise ValueError(f"unknown shift {self.shift!r}; expected one of {SHIFTS}")
        if not self.lr > 0:
            raise ValueError(f"lr must be > 0, got {self.lr!r}")
        return self


def make_phase_data(config: NonStationaryConfig, seed: int, phase: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs and labels of ``phase`` (deterministic in ``seed`` and ``phase``)."""
    base = np.random.default_rng([seed, 0])
    x = base.standard_normal((config.n_samples, config.in_dim)).astype(np.float32)
    y = base.integers(0, config.n_classes, config.n_samples)
    if phase > 0:
        rng = np.random.default_rng([seed, phase + 1])
        if config.shift == "labels":
            y = rng.integers(0, config.n_classes, config.n_samples)
        else:
            q, r = np.linalg.qr(rng.standard_normal((config.in_dim, config.in_dim)))
            x = (x @ (q * np.sign(np.diag(r)))).astype(np.float32)
    return torch.from_numpy(x), torch.from_numpy(y.astype(np.int64))


class NonStationaryTrainer:
    """Trains one network on the shifting task, one optimizer step per :meth:`step`."""

    def __init__(
        self,
        net_config: NetworkConfig,
        optimizer: str,
        config: NonStationaryConfig,
        seed: int = 0,
        device: str = "cpu",
    ):
        self.config = config.validate()
        self.net_config = net_config.validate()
        self.optimizer_name = optimizer
        self.seed = seed
        torch.manual_seed(seed)
        self.device = torch.device(device)
        self.model = build_network(net_config, (config.in_dim,), config.n_classes).to(self.device)
        self.optimizer = make_optimizer(optimizer, self.model.parameters(), config.lr)
        self.gen = torch.Generator().manual_seed(seed)
        self.iteration = 0
        self.total_iterations = config.n_phases * config.steps_per_phase
        self.phase_accuracy: list[float] = []
        self._data: tuple[int, torch.Tensor, torch.Tensor] | None = None

    def _phase_data(self, phase: int) -> tuple[torch.Tensor, torch.Tensor]:
        if self._data is None or self._data[0] != phase:
            x, y = make_phase_data(self.config, self.seed, phase)
            self._data = (phase, x.to(self.device), y.to(self.device))
        return self._data[1], self._data[2]

    @torch.no_grad()
    def accuracy(self, phase: int) -> float:
        """Training accuracy on the whole data set of ``phase``."""
        x, y = self._phase_data(phase)
        return float((self.model(x).argmax(-1) == y).float().mean())

    def step(self) -> dict[str, Any] | None:
        """One optimizer step; returns a metrics record at log points and phase ends, else ``None``."""
        cfg = self.config
        phase = self.iteration // cfg.steps_per_phase
        x, y = self._phase_data(phase)
        idx = torch.randint(0, cfg.n_samples, (cfg.batch_size,), generator=self.gen).to(self.device)
        loss = F.cross_entropy(self.model(x[idx]), y[idx])
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()  # type: ignore[no-untyped-call]
        norms = grad_norms(self.model)
        if cfg.max_grad_norm > 0:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), cfg.max_grad_norm)
        self.optimizer.step()
        self.iteration += 1
        phase_end = self.iteration % cfg.steps_per_phase == 0
        if not (phase_end or self.iteration % cfg.log_every == 0 or self.iteration == 1):
            return None
        record: dict[str, Any] = {
            "iteration": self.iteration,
            "phase": phase,
            "loss": float(loss.detach()),
            "grad_norms": list(norms.values()),
            "grad_spread": gradient_spread(norms),
        }
        if phase_end:
            acc = self.accuracy(phase)
            self.phase_accuracy.append(acc)
            record["phase_accuracy"] = acc
            rep = representation_metrics(self.model, x[:512])
            rep.pop("dead_per_layer")
            record.update(rep)
            record["weight_norm_total"] = float(sum(v**2 for v in weight_norms(self.model).values()) ** 0.5)
        return record

    def layer_names(self) -> list[str]:
        """Names of the weight tensors whose gradient norms are logged, input first."""
        return [n for n, p in self.model.named_parameters() if p.dim() >= 2]

    def summary(self) -> dict[str, Any]:
        """Final figures of the run."""
        return {
            "phase_accuracy": self.phase_accuracy,
            "final_accuracy": self.phase_accuracy[-1] if self.phase_accuracy else None,
            "n_params": count_params(self.model),
        }

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to resume."""
        return {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "gen": self.gen.get_state(),
            "torch_rng": torch.get_rng_state(),
            "iteration": self.iteration,
            "phase_accuracy": self.phase_accuracy,
            "config": asdict(self.config),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Inverse of :meth:`state_dict`."""
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.gen.set_state(state["gen"].cpu())
        torch.set_rng_state(state["torch_rng"].cpu())
        self.iteration = int(state["iteration"])
        self.phase_accuracy = list(state["phase_accuracy"])
