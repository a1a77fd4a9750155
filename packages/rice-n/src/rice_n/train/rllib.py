"""``rice-n train --engine rllib``: check for ray, connect to Ray, train (see :mod:`rice_n.train.rllib_runner`).

ray is imported only here, on the RLlib path; without it the command names the pip extra to install.
"""

from __future__ import annotations

from pathlib import Path

from rice_n.train.config import TrainConfig
from rice_n.train.runner import TrainResult

#: What ``--engine rllib`` prints (after ``rice-n train: error:``) when ray is missing.
RAY_MISSING = '--engine rllib needs ray[rllib]: pip install "rice-n[ray]"'


def train_on_ray(
    config: TrainConfig,
    out: str | Path,
    resume: bool = False,
    overwrite: bool = False,
    num_env_runners: int = 0,
    address: str | None = None,
    checkpoint_every: int = 5,
    device: str = "cpu",
    progress: bool = True,
) -> TrainResult:
    """Train ``config`` with RLlib PPO on the Ray cluster at ``address`` (default: a local instance).

    Raises ValueError (one line) for a missing ray, bad options or an unreachable cluster, before the
    run folder is created. A Ray instance this call started is shut down at the end.
    """
    try:
        import ray
        import ray.rllib
    except ImportError:
        raise ValueError(RAY_MISSING) from None
    from rice_n.train.rllib_runner import check_config, connect, train_rllib

    check_config(config, num_env_runners)
    if device != "cpu":
        raise ValueError(f"--engine rllib trains on the CPU (got --device {device!r}); use --engine local")
    try:
        started = connect(address, num_env_runners)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise ValueError(f"cannot connect to Ray at {address or 'a local instance'!r}: {exc}") from None
    try:
        return train_rllib(
            config,
            out,
            resume=resume,
            overwrite=overwrite,
            num_env_runners=num_env_runners,
            checkpoint_every=checkpoint_every,
            progress=progress,
        )
    finally:
        if started:
            ray.shutdown()
