"""The training loop: rollouts on the batched env, PPO/A2C updates, metrics, checkpoints and resume.

A run folder holds ``config.json`` (config, seed, env, version), ``metrics.jsonl`` (one JSON object per
iteration), ``checkpoint.pt`` (every ``checkpoint_every`` iterations and at the end) and the policy
(``policy.safetensors`` + ``policy.json``). ``resume=True`` continues from the checkpoint exactly: the
same metrics as an uninterrupted run with the same seed.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rice_n import __version__
from rice_n._io import output_dir, owned_output, write_bytes_atomic, write_json_atomic, write_marker
from rice_n.batch import BatchRiceEnv
from rice_n.protocols import protocol_spec
from rice_n.train.a2c import a2c_update
from rice_n.train.config import TrainConfig
from rice_n.train.learner import flatten
from rice_n.train.policy import ObsSplit, SharedPolicy, stage_dim_mask, stage_groups
from rice_n.train.ppo import ppo_update
from rice_n.train.rollout import collect
from rice_n.train.runfolder import (
    CONFIG_FILE,
    METRICS_FILE,
    RLLIB_CHECKPOINT,
    check_run_folder,
    read_metrics,
    read_saved_config,
    remove_temp_files,
)
from rice_n.train.store import (
    CHECKPOINT_FILE,
    PolicyError,
    load_checkpoint,
    save_checkpoint,
    save_policy,
)


@dataclass
class TrainResult:
    """What :func:`train` returns: the policy, the per-iteration metrics and the run folder."""

    policy: SharedPolicy
    history: list[dict[str, Any]]
    out: Path


def make_env(config: TrainConfig, num_envs: int, device: torch.device) -> BatchRiceEnv:
    """The batched env of a run (numpy on the CPU, the torch backend on an accelerator)."""
    if device.type == "cpu":
        return BatchRiceEnv(num_envs=num_envs, protocol=config.protocol, mode=config.mode)
    return BatchRiceEnv(
        num_envs=num_envs, protocol=config.protocol, mode=config.mode, backend="torch", device=device
    )


def env_info(env: BatchRiceEnv, config: TrainConfig) -> dict[str, Any]:
    """The env facts a policy depends on (for its header and config.json); the protocol as its spec."""
    return {
        "protocol": protocol_spec(config.protocol),
        "mode": config.mode,
        "n_agents": env.n_agents,
        "obs_dim": env.obs_dim,
        "n_actions": env.n_actions,
        "episode_length": env.episode_length,
    }


def resolve_device(device: str | torch.device | None) -> torch.device:
    """A torch device from its name (``cpu``, ``cuda``, ``cuda:1``); ValueError if unknown or unavailable."""
    try:
        dev = torch.device(device or "cpu")
    except (RuntimeError, TypeError):
        raise ValueError(f"unknown device {str(device)!r}; use cpu or cuda[:INDEX]") from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"device {str(device)!r} requested but CUDA is not available")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise ValueError(f"device {str(device)!r}: only {torch.cuda.device_count()} CUDA device(s)")
    elif dev.type != "cpu":
        raise ValueError(f"device {str(device)!r} is not supported; use cpu or cuda[:INDEX]")
    return dev


def _write_metrics(path: Path, history: list[dict[str, Any]]) -> None:
    write_bytes_atomic(path, "".join(json.dumps(h) + "\n" for h in history).encode())


def _progress(total: int, initial: int, enabled: bool) -> Any:
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, unit="ep", desc="rice-n train", dynamic_ncols=True)


def _check_resume(out: Path, config: TrainConfig) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """Validate a run to continue: its config.json, checkpoint and metrics; returns (checkpoint, rows)."""
    saved = read_saved_config(out)
    if (out / RLLIB_CHECKPOINT).exists():
        raise PolicyError(f"{str(out)!r} is a run of --engine rllib: resume it with --engine rllib")
    try:
        saved_cfg = TrainConfig.from_dict(saved)
    except (TypeError, ValueError) as exc:
        raise PolicyError(f"{str(out / CONFIG_FILE)!r} holds no valid training config: {exc}") from None
    ckpt_path = out / CHECKPOINT_FILE
    ckpt = load_checkpoint(ckpt_path) if ckpt_path.exists() else None
    if ckpt is not None:
        try:
            saved_cfg = TrainConfig.from_dict(ckpt["config"])
        except (KeyError, TypeError, ValueError) as exc:
            raise PolicyError(
                f"checkpoint {str(ckpt_path)!r} holds no valid training config: {exc}"
            ) from None
    if saved_cfg.replace(episodes=config.episodes) != config:
        raise PolicyError(
            f"run {str(out)!r} was written with another config; resume needs the same options (only "
            f"--episodes may change): saved {saved_cfg.to_dict()}"
        )
    history = read_metrics(out / METRICS_FILE)
    if ckpt is None:
        return None, []
    start = int(ckpt["iteration"])
    if len(history) < start:
        raise PolicyError(f"{out / METRICS_FILE} has fewer lines than the checkpoint's {start} iterations")
    return ckpt, history[:start]


def train(
    config: TrainConfig,
    out: str | Path,
    resume: bool = False,
    device: str | torch.device | None = None,
    checkpoint_every: int = 10,
    progress: bool = True,
    stop_after: int | None = None,
    overwrite: bool = False,
) -> TrainResult:
    """Train the shared policy for ``config.episodes`` episodes; write the run folder ``out``.

    A folder that already holds a run is refused (:class:`RunFolderError`) unless ``resume`` (continue
    it from its checkpoint) or ``overwrite`` (discard it); every argument, the device, the protocol and
    the checkpoint are checked before anything is created or changed. ``stop_after`` ends the run after
    that many iterations (for tests of ``resume``).
    """
    if isinstance(checkpoint_every, bool) or not isinstance(checkpoint_every, int) or checkpoint_every < 1:
        raise ValueError(f"checkpoint_every must be an integer >= 1, got {checkpoint_every!r}")
    out = Path(out)
    config_dict = config.to_dict()  # ProtocolError for a protocol that cannot be saved
    dev = resolve_device(device)
    has_run = check_run_folder(out, resume, overwrite)
    if has_run and overwrite:  # the new run is built beside the old one and swapped in once complete
        with owned_output(out, "train", replace=True, marker=False) as staging:
            result = train(config, staging, False, device, checkpoint_every, progress, stop_after)
        return dataclasses.replace(result, out=out)
    # a run killed after its marker but before its config.json has nothing to continue: it starts anew
    started = has_run and (out / CONFIG_FILE).exists()
    ckpt, history = _check_resume(out, config) if (resume and started) else (None, [])
    torch.manual_seed(config.seed)
    env = make_env(config, config.num_envs, dev)
    info = env_info(env, config)
    split = ObsSplit.from_env(env)
    policy = SharedPolicy(split, env.action_nvec, config.hidden).to(dev)
    optimizer = torch.optim.Adam(policy.parameters(), lr=config.lr)
    generator = torch.Generator().manual_seed(config.seed)
    dims_np = stage_dim_mask(env) if config.stage_dims else np.ones((env.n_stages, env.n_actions))
    dims = torch.as_tensor(dims_np, dtype=torch.float32, device=dev)
    groups = stage_groups(dims_np, env.action_nvec)
    start_iter, episodes_done, env_steps = 0, 0, 0
    if ckpt is not None:
        try:
            policy.load_state_dict(ckpt["policy"])
            optimizer.load_state_dict(ckpt["optimizer"])
            generator.set_state(ckpt["generator"])
            start_iter = int(ckpt["iteration"])
            episodes_done, env_steps = int(ckpt["episodes"]), int(ckpt["env_steps"])
        except (KeyError, RuntimeError, TypeError, ValueError) as exc:
            raise PolicyError(
                f"checkpoint {str(out / CHECKPOINT_FILE)!r} does not fit this run: {exc}"
            ) from None
    with output_dir(out):
        if not has_run:
            write_marker(out, "train")
        else:
            remove_temp_files(out)
            if ckpt is None:
                (out / METRICS_FILE).unlink(missing_ok=True)
            else:
                _write_metrics(out / METRICS_FILE, history)  # without a torn last line
        write_json_atomic(
            out / CONFIG_FILE,
            {
                "config": config_dict,
                "seed": config.seed,
                "env": info,
                "device": str(dev),
                "rice_n_version": __version__,
            },
        )
    update = ppo_update if config.algo == "ppo" else a2c_update
    bar = _progress(config.episodes, episodes_done, progress and not os.environ.get("TQDM_DISABLE"))
    it = start_iter
    try:
        while episodes_done < config.episodes:
            if stop_after is not None and it - start_iter >= stop_after:
                break
            batch = min(config.num_envs, config.episodes - episodes_done)
            run_env = env if batch == config.num_envs else make_env(config, batch, dev)
            coeff = config.entropy_coeff(env_steps)
            ro = collect(run_env, policy, generator, dev, dims, groups=groups)
            t0 = time.perf_counter()
            samples = flatten(ro, dims, config.gamma, config.gae_lambda, config.normalize_advantages, groups)
            stats = update(policy, optimizer, samples, config, coeff, generator)
            learn_s = time.perf_counter() - t0
            it += 1
            episodes_done += batch
            env_steps += ro.env_steps
            m = ro.metrics
            row = {
                "iteration": it,
                "episodes": episodes_done,
                "env_steps": env_steps,
                "mean_episode_reward": float(m["episode_reward"].mean()),
                "temperature_rise": float(m["temperature_rise"].mean()),
                "gross_output": float(m["gross_output"].mean()),
                "climate_index": float(m["climate_index"].mean()),
                "economic_index": float(m["economic_index"].mean()),
                "entropy_coeff": coeff,
                **stats,
                "masked_actions": ro.masked_taken,
                "rollout_s": ro.seconds,
                "learn_s": learn_s,
                "env_steps_per_s": ro.env_steps / ro.seconds,
                "learner_samples_per_s": ro.agent_steps * config.epochs / max(learn_s, 1e-9),
            }
            history.append(row)
            _write_metrics(out / METRICS_FILE, history)
            if bar is not None:
                bar.update(batch)
                bar.set_postfix(
                    reward=f"{row['mean_episode_reward']:.1f}",
                    dT=f"{row['temperature_rise']:.2f}",
                    climate=f"{row['climate_index']:.3f}",
                    econ=f"{row['economic_index']:.3f}",
                )
            if it % checkpoint_every == 0 or episodes_done >= config.episodes:
                _checkpoint(out, policy, optimizer, generator, config, info, it, episodes_done, env_steps)
    finally:
        if bar is not None:
            bar.close()
    if it > start_iter and it % checkpoint_every != 0 and episodes_done < config.episodes:
        _checkpoint(out, policy, optimizer, generator, config, info, it, episodes_done, env_steps)
    return TrainResult(policy=policy, history=history, out=out)


def _checkpoint(
    out: Path,
    policy: SharedPolicy,
    optimizer: torch.optim.Optimizer,
    generator: torch.Generator,
    config: TrainConfig,
    info: dict[str, Any],
    it: int,
    episodes: int,
    env_steps: int,
) -> None:
    save_policy(out, policy, info)
    save_checkpoint(
        out / CHECKPOINT_FILE,
        {
            "policy": {k: v.detach().cpu() for k, v in policy.state_dict().items()},
            "optimizer": optimizer.state_dict(),
            "generator": generator.get_state(),
            "config": config.to_dict(),
            "iteration": it,
            "episodes": episodes,
            "env_steps": env_steps,
            "rice_n_version": __version__,
        },
    )
