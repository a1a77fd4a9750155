"""One training run from one config: JSON-lines metrics, atomic checkpoints, ``--resume``.

Output folder layout::

    config.json      the full run config, seed and package version
    metrics.jsonl    one JSON object per log point (iteration, returns/accuracy, grad norms, ranks, ...)
    layers.json      names of the weight tensors behind each ``grad_norms`` list (heat-map rows)
    checkpoint.pt    latest checkpoint (torch.save, loaded with weights_only=True)
    summary.json     written last: its presence marks a finished run
"""

from __future__ import annotations

import contextlib
import json
import math
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, cast

import torch

from stable_grad_rl import __version__
from stable_grad_rl.agents import DQN, PPO, PQN, ActorCritic, DQNConfig, PPOConfig, PQNConfig
from stable_grad_rl.envs import check_env, make_vec_env
from stable_grad_rl.networks import NetworkConfig, build_network, count_params
from stable_grad_rl.nonstationary import NonStationaryConfig, NonStationaryTrainer
from stable_grad_rl.optim import OPTIMIZERS, make_optimizer
from stable_grad_rl.rundir import (
    atomic_write_json,
    clean_json,
    finish_run,
    inspect_run,
    prepare_run,
    read_metrics,
    save_checkpoint,
)

ALGOS = ("pqn", "ppo", "dqn", "nonstationary")
#: Baseline optimizer per algorithm in the paper's code (RAdam for PQN/PPO, Adam for DQN).
DEFAULT_OPTIMIZER = {"pqn": "radam", "ppo": "radam", "dqn": "adam", "nonstationary": "adam"}
DEFAULT_LR = {"pqn": 2.5e-4, "ppo": 1e-3, "dqn": 2.5e-4, "nonstationary": 1e-3}
_ALGO_CONFIGS: dict[str, Any] = {
    "pqn": PQNConfig,
    "ppo": PPOConfig,
    "dqn": DQNConfig,
    "nonstationary": NonStationaryConfig,
}


def check_device(device: str) -> None:
    """Raise ``ValueError`` unless ``device`` names a torch device that exists on this machine."""
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise ValueError(f"bad device {device!r}: expected e.g. cpu, cuda or cuda:1") from err
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"device {device!r} requested but CUDA is not available here")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise ValueError(f"device {device!r}: only {torch.cuda.device_count()} CUDA device(s)")
    elif dev.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"device {device!r} requested but MPS is not available here")
    elif dev.type not in ("cpu", "cuda", "mps"):
        raise ValueError(f"unsupported device {device!r}; expected cpu, cuda[:N] or mps")


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
    threads: int = 1

    def validate(self) -> TrainConfig:
        """Raise ``ValueError`` naming the bad field; return self."""
        if self.algo not in ALGOS:
            raise ValueError(f"unknown algo {self.algo!r}; expected one of {ALGOS}")
        if self.optimizer is not None and self.optimizer not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {self.optimizer!r}; expected one of {OPTIMIZERS}")
        if self.lr is not None and not (isinstance(self.lr, (int, float)) and 0 < self.lr < math.inf):
            raise ValueError(f"lr must be a finite number > 0, got {self.lr!r}")
        for name in ("log_every", "diag_every", "checkpoint_every"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        known = set(_ALGO_CONFIGS[self.algo].__dataclass_fields__)
        unknown = sorted(set(self.algo_config) - known)
        if unknown:
            raise ValueError(f"unknown {self.algo} config fields {unknown}; known: {sorted(known)}")
        for key, value in self.algo_config.items():
            if isinstance(value, float) and not math.isfinite(value):
                raise ValueError(f"{self.algo} setting {key} must be finite, got {value!r}")
        if isinstance(self.threads, bool) or not isinstance(self.threads, int) or self.threads < 1:
            raise ValueError(f"threads must be an int >= 1, got {self.threads!r}")
        check_device(self.device)
        self.network.validate()
        _ALGO_CONFIGS[self.algo](**self.algo_config).validate()
        if self.algo != "nonstationary":
            check_env(self.env)
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
    action_space: Any = envs.single_action_space  # Discrete (checked by check_env)
    n_actions = int(action_space.n)
    obs_shape = envs.single_observation_space.shape or ()
    if config.algo == "ppo":
        body = build_network(config.network, obs_shape, None)
        critic = None if algo_cfg.shared_body else build_network(config.network, obs_shape, None)
        network: torch.nn.Module = ActorCritic(body, config.network.width, n_actions, critic)
    else:
        network = build_network(config.network, obs_shape, n_actions)
    network = network.to(config.device)
    optimizer = make_optimizer(config.optimizer_name, network.parameters(), config.learning_rate)
    agent_cls = {"pqn": PQN, "ppo": PPO, "dqn": DQN}[config.algo]
    agent = agent_cls(envs, network, optimizer, algo_cfg, config.seed)
    agent.log_every, agent.diag_every = config.log_every, config.diag_every
    return cast(PQN | PPO | DQN, agent)


def set_threads(threads: int) -> None:
    """Use ``threads`` torch threads (intra-op; inter-op too while torch still allows setting it)."""
    torch.set_num_threads(threads)
    if torch.get_num_interop_threads() != threads:
        with contextlib.suppress(
            RuntimeError
        ):  # only settable before the first inter-op parallel work of the process
            torch.set_num_interop_threads(threads)


def _progress(total: int, initial: int, desc: str, enabled: bool) -> Any:
    try:
        from tqdm.auto import tqdm
    except ImportError:  # pragma: no cover - tqdm is a declared dependency
        return None
    return tqdm(total=total, initial=initial, desc=desc, disable=not enabled or None, leave=False)


def run_training(
    config: TrainConfig,
    out: str | Path,
    *,
    resume: bool = False,
    overwrite: bool = False,
    progress: bool = True,
    guard: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """Train one run into folder ``out`` and return its summary (see :mod:`stable_grad_rl.rundir`).

    Everything (config, device, environment, a checkpoint to resume) is validated before ``out`` is
    created or touched. A folder holding a run is refused unless ``resume`` (continue from its checkpoint;
    a finished run is returned as is) or ``overwrite`` (discard it). ``guard`` is called before every
    write (a sweep worker uses it to stop once its parent is gone).
    """
    out = Path(out)
    config.validate()
    state = inspect_run(out, config.to_dict(), resume=resume, overwrite=overwrite, device=config.device)
    if state.summary is not None:
        return state.summary
    set_threads(config.threads)
    trainer = make_trainer(config)
    try:
        if state.checkpoint is not None:
            try:
                trainer.load_state_dict(state.checkpoint)
            except (KeyError, RuntimeError, TypeError, ValueError, IndexError) as err:
                raise ValueError(
                    f"checkpoint {out / 'checkpoint.pt'} does not fit this run ({err.__class__.__name__})"
                ) from err
            note = getattr(trainer, "inexact_resume", None)
            if note:
                print(f"stable-grad-rl: resume is not exact: {note}", file=sys.stderr)
        if guard is not None:
            guard()
        work = prepare_run(out, state)  # ``out``, or a staging folder swapped in when complete
        summary = _train_loop(config, trainer, work, progress, guard or (lambda: None))
        finish_run(work, out)
        return summary
    finally:
        if hasattr(trainer, "envs"):
            trainer.envs.close()


def _train_loop(
    config: TrainConfig, trainer: Any, out: Path, progress: bool, guard: Callable[[], None]
) -> dict[str, Any]:
    summary_path, ckpt_path, metrics_path = out / "summary.json", out / "checkpoint.pt", out / "metrics.jsonl"
    n_params = count_params(trainer.network if hasattr(trainer, "network") else trainer.model)
    atomic_write_json(
        out / "config.json",
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
                guard()
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
                    save_checkpoint(ckpt_path, trainer.state_dict())
    finally:
        if bar is not None:
            bar.close()
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
    spreads = [json.loads(ln).get("grad_spread") for ln in read_metrics(metrics_path)]
    spreads = [s for s in spreads if s]
    if spreads:
        tail = spreads[-max(1, len(spreads) // 5) :]
        summary["grad_first_last_ratio"] = sum(s["first_last_ratio"] for s in tail) / len(tail)
        summary["grad_first_last_hidden_ratio"] = sum(s["first_last_hidden_ratio"] for s in tail) / len(tail)
        summary["grad_log10_std"] = sum(s["log10_std"] for s in tail) / len(tail)
    guard()
    atomic_write_json(summary_path, summary)
    return summary
