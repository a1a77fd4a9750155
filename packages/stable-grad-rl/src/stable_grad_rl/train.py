"""One training run from one config: JSON-lines metrics, atomic checkpoints, ``--resume``.

Output folder layout::

    config.json      the full run config, seed and package version
    metrics.jsonl    one JSON object per log point (iteration, returns/accuracy, grad norms, ranks, ...)
    layers.json      names of the weight tensors behind each ``grad_norms`` list (heat-map rows)
    checkpoint.pt    latest checkpoint (torch.save, loaded with weights_only=True)
    summary.json     written last: its presence marks a finished run
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from stable_grad_rl import __version__
from stable_grad_rl.agents import DQN, PPO, PQN, DQNConfig, PPOConfig, PQNConfig
from stable_grad_rl.envs import make_vec_env
from stable_grad_rl.networks import NetworkConfig, build_network, count_params
from stable_grad_rl.nonstationary import NonStationaryConfig, NonStationaryTrainer
from stable_grad_rl.optim import OPTIMIZERS, make_optimizer

ALGOS = ("pqn", "ppo", "dqn", "nonstationary")
#: Baseline optimizer per algorithm in the paper's code (RAdam for PQN/PPO, Adam for DQN).
DEFAULT_OPTIMIZER = {"pqn": "radam", "ppo": "radam", "dqn": "adam", "nonstationary": "adam"}
DEFAULT_LR = {"pqn": 2.5e-4, "ppo": 2.5e-4, "dqn": 2.5e-4, "nonstationary": 1e-3}
_ALGO_CONFIGS = {"pqn": PQNConfig, "ppo": PPOConfig, "dqn": DQNConfig, "nonstationary": NonStationaryConfig}


@dataclass
class TrainConfig:
    """Everything one run needs. ``algo_config`` overrides fields of the algorithm's config dataclass."""

    algo: str = "pqn"
    env: str = "CartPole-v1"
    network: NetworkConfig = field(default_factory=NetworkConfig)
    optimizer: str | None = None
    lr: float | None = None
    seed: int = 0
    algo_config: dict[str, Any] = field(default_factory=dict)
    log_every: int = 1
    diag_every: int = 10
    checkpoint_every: int = 50
    device: str = "cpu"

    def validate(self) -> TrainConfig:
        """Raise ``ValueError`` naming the bad field; return self."""
        if self.algo not in ALGOS:
            raise ValueError(f"unknown algo {self.algo!r}; expected one of {ALGOS}")
        if self.optimizer is not None and self.optimizer not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {self.optimizer!r}; expected one of {OPTIMIZERS}")
        if self.lr is not None and not self.lr > 0:
            raise ValueError(f"lr must be > 0, got {self.lr!r}")
        for name in ("log_every", "diag_every", "checkpoint_every"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        known = set(_ALGO_CONFIGS[self.algo].__dataclass_fields__)
        unknown = sorted(set(self.algo_config) - known)
        if unknown:
            raise ValueError(f"unknown {self.algo} config fields {unknown}; known: {sorted(known)}")
        try:
            torch.device(self.device)
        except RuntimeError as err:
            raise ValueError(f"bad device {self.device!r}: {err}") from err
        self.network.validate()
        return self

    @property
    def optimizer_name(self) -> str:
        """The optimizer actually used."""
        return self.optimizer or DEFAULT_OPTIMIZER[self.algo]

    @property
    def learning_rate(self) -> float:
        """The baseline learning rate actually used (Kron divides it by 3)."""
        return self.lr if self.lr is not None else DEFAULT_LR[self.algo]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        d = asdict(self)
        d["network"] = self.network.to_dict()
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainConfig:
        """Inverse of :meth:`to_dict`."""
        d = dict(d)
        net = dict(d.pop("network", {}))
        net["cnn_channels"] = tuple(net.get("cnn_channels", ()))
        return cls(network=NetworkConfig(**net), **d)


def make_trainer(config: TrainConfig) -> PQN | PPO | DQN | NonStationaryTrainer:
    """Build the network, optimizer, envs and agent (or supervised trainer) that ``config`` describes."""
    config.validate()
    algo_cfg = _ALGO_CONFIGS[config.algo](**config.algo_config).validate()
    if config.algo == "nonstationary":
        algo_cfg.lr = config.learning_rate if config.lr is not None else algo_cfg.lr
        return NonStationaryTrainer(
            config.network, config.optimizer_name, algo_cfg, config.seed, config.device
        )
    torch.manual_seed(config.seed)
    envs = make_vec_env(config.env, algo_cfg.num_envs, config.seed)
    n_actions = int(envs.single_action_space.n)
    out_dim = n_actions + 1 if config.algo == "ppo" else n_actions
    network = build_network(config.network, envs.single_observation_space.shape, out_dim).to(config.device)
    optimizer = make_optimizer(config.optimizer_name, network.parameters(), config.learning_rate)
    agent_cls = {"pqn": PQN, "ppo": PPO, "dqn": DQN}[config.algo]
    agent = agent_cls(envs, network, optimizer, algo_cfg, config.seed)
    agent.log_every, agent.diag_every = config.log_every, config.diag_every
    return agent


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temp file in the same folder and a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def clean_json(value: Any) -> Any:
    """Replace non-finite floats by ``None`` recursively (strict JSON)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: clean_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean_json(v) for v in value]
    return value


def atomic_write_json(path: Path, obj: Any) -> None:
    """Atomically write ``obj`` as indented strict JSON."""
    atomic_write_bytes(path, (json.dumps(clean_json(obj), indent=2, allow_nan=False) + "\n").encode())


def _save_checkpoint(path: Path, trainer: Any) -> None:
    fd, tmp = tempfile.mkstemp(prefix=".checkpoint.", dir=path.parent)
    os.close(fd)
    try:
        torch.save(trainer.state_dict(), tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _truncate_metrics(path: Path, iteration: int) -> None:
    """Keep only the metric lines up to ``iteration`` (lines past the last checkpoint are redone)."""
    if not path.exists():
        return
    keep = [
        ln for ln in path.read_text().splitlines() if ln.strip() and json.loads(ln)["iteration"] <= iteration
    ]
    atomic_write_bytes(path, "".join(ln + "\n" for ln in keep).encode())


def _progress(total: int, initial: int, desc: str, enabled: bool) -> Any:
    try:
        from tqdm.auto import tqdm
    except ImportError:  # pragma: no cover - tqdm is a declared dependency
        return None
    return tqdm(total=total, initial=initial, desc=desc, disable=not enabled or None, leave=False)


def run_training(
    config: TrainConfig, out: str | Path, *, resume: bool = False, progress: bool = True
) -> dict[str, Any]:
    """Train one run into folder ``out`` and return its summary.

    With ``resume=True`` and a checkpoint in ``out``, training continues from it (the config must match);
    a finished run (``summary.json`` present) is returned as is.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    config.validate()
    summary_path, ckpt_path, metrics_path = out / "summary.json", out / "checkpoint.pt", out / "metrics.jsonl"
    config_path = out / "config.json"
    if resume and config_path.exists():
        saved = json.loads(config_path.read_text())["config"]
        if saved != clean_json(config.to_dict()):
            raise ValueError(f"--resume: the config in {config_path} differs from the requested one")
        if summary_path.exists():
            return json.loads(summary_path.read_text())
    elif not resume:
        for stale in (summary_path, ckpt_path, metrics_path):
            stale.unlink(missing_ok=True)
    trainer = make_trainer(config)
    if resume and ckpt_path.exists():
        trainer.load_state_dict(torch.load(ckpt_path, weights_only=True, map_location=config.device))
        _truncate_metrics(metrics_path, trainer.iteration)
    elif resume:
        metrics_path.unlink(missing_ok=True)
    n_params = count_params(trainer.network if hasattr(trainer, "network") else trainer.model)
    atomic_write_json(
        config_path,
        {"config": config.to_dict(), "version": __version__, "seed": config.seed, "n_params": n_params},
    )
    atomic_write_json(out / "layers.json", trainer.layer_names())
    bar = _progress(
        trainer.total_iterations, trainer.iteration, f"{config.algo} {config.network.kind}", progress
    )
    start = time.perf_counter()
    try:
        with metrics_path.open("a") as fh:
            while trainer.iteration < trainer.total_iterations:
                record = trainer.step()
                if record is not None:
                    record["wall_time"] = time.perf_counter() - start
                    fh.write(json.dumps(clean_json(record), allow_nan=False) + "\n")
                    fh.flush()
                if bar is not None:
                    bar.update(1)
                if (
                    trainer.iteration % config.checkpoint_every == 0
                    or trainer.iteration == trainer.total_iterations
                ):
                    _save_checkpoint(ckpt_path, trainer)
    finally:
        if bar is not None:
            bar.close()
        if hasattr(trainer, "envs"):
            trainer.envs.close()
    summary = {
        "algo": config.algo,
        "env": config.env if config.algo != "nonstationary" else "nonstationary",
        "network": config.network.to_dict(),
        "optimizer": config.optimizer_name,
        "lr": config.learning_rate,
        "seed": config.seed,
        "n_params": n_params,
        "version": __version__,
        **trainer.summary(),
    }
    spreads = [
        json.loads(ln).get("grad_spread") for ln in metrics_path.read_text().splitlines() if ln.strip()
    ]
    spreads = [s for s in spreads if s]
    if spreads:
        tail = spreads[-max(1, len(spreads) // 5) :]
        summary["grad_first_last_ratio"] = sum(s["first_last_ratio"] for s in tail) / len(tail)
        summary["grad_first_last_hidden_ratio"] = sum(s["first_last_hidden_ratio"] for s in tail) / len(tail)
        summary["grad_log10_std"] = sum(s["log10_std"] for s in tail) / len(tail)
    atomic_write_json(summary_path, summary)
    return summary
