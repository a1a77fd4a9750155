"""``rice-n train --engine rllib``: the shared policy trained with RLlib's PPO (new API stack) on Ray.

The same run folder as the built-in trainer (:mod:`rice_n.train.runner`): ``config.json``,
``metrics.jsonl`` with the same keys, ``policy.safetensors`` + ``policy.json`` in the built-in format
(the RLModule's network is a :class:`~rice_n.train.SharedPolicy`), and a resumable checkpoint
``rllib-checkpoint/`` (RLlib's algorithm state plus ``rice_n_state.json``). One iteration samples
``num_envs`` complete episodes (on ``num_env_runners`` Ray actors, or in-process with 0) and runs
``epochs`` passes of ``minibatches`` minibatches of PPO, with the built-in trainer's hyperparameters.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import random
import shutil
import sys
from pathlib import Path
from typing import Any

import numpy as np
import ray
import torch
from ray.rllib.algorithms.ppo import PPOConfig
from ray.rllib.callbacks.callbacks import RLlibCallback
from ray.rllib.core.rl_module.multi_rl_module import MultiRLModuleSpec
from ray.rllib.core.rl_module.rl_module import RLModuleSpec

from rice_n import __version__
from rice_n._io import output_dir, owned_output, write_json_atomic, write_marker
from rice_n.protocols import protocol_spec
from rice_n.train.config import TrainConfig
from rice_n.train.policy import ObsSplit, SharedPolicy
from rice_n.train.rllib_env import INFO_KEY, RiceMultiAgentEnv
from rice_n.train.rllib_module import MaskedSharedPolicyModule
from rice_n.train.runfolder import (
    CONFIG_FILE,
    METRICS_FILE,
    RLLIB_CHECKPOINT,
    check_run_folder,
    read_metrics,
    read_saved_config,
    remove_temp_files,
)
from rice_n.train.runner import TrainResult, _progress, _write_metrics, env_info
from rice_n.train.store import CHECKPOINT_FILE, PolicyError, save_policy

#: Temp folders of a checkpoint swap, and the run state saved inside the checkpoint.
TMP_CHECKPOINT, OLD_CHECKPOINT = ".checkpoint.rllib-tmp", ".checkpoint.rllib-old"
STATE_FILE = "rice_n_state.json"
#: The driver's random generators (torch, numpy, random) at the checkpoint, inside the checkpoint.
RNG_FILE = "rice_n_rng.json"
#: Printed when a resumed run cannot continue bitwise as the uninterrupted one.
RESUME_NOTE = (
    "rice-n train: note: with --num-env-runners > 0 a resumed --engine rllib run is not bitwise the "
    "uninterrupted one (RLlib's checkpoint does not hold the env runners' random generators)"
)
#: RLlib's timers of sampling and of the learner update (rollout_s and learn_s in metrics.jsonl).
TIMERS = ("env_runner_sampling_timer", "learner_update_timer")
#: The one module all regions share.
MODULE_ID = "regions"
#: Per-episode sums the env runners report (see :class:`EpisodeMetrics`).
EPISODE_KEYS = ("episode_reward", "temperature_rise", "gross_output", "climate_index", "economic_index")


def _shared_policy(agent_id: Any, episode: Any = None, **kwargs: Any) -> str:
    """Every region maps to the one shared module."""
    return MODULE_ID


class EpisodeMetrics(RLlibCallback):
    """Sum each finished episode's headline metrics and masked-action count (reset every iteration)."""

    def on_episode_end(self, *, episode: Any, metrics_logger: Any = None, **kwargs: Any) -> None:
        """Log the summary the env put into the last infos."""
        summary = next(iter(episode.get_infos(-1).values()))[INFO_KEY]
        metrics_logger.log_value((INFO_KEY, "episodes"), 1, reduce="sum")
        for key in (*EPISODE_KEYS, "masked_actions"):
            metrics_logger.log_value((INFO_KEY, key), float(summary[key]), reduce="sum")


def env_facts(config: TrainConfig) -> tuple[RiceMultiAgentEnv, dict[str, Any], ObsSplit]:
    """The env of a run, its facts for ``config.json`` / ``policy.json``, and its observation split."""
    env = RiceMultiAgentEnv({"protocol": protocol_spec(config.protocol), "mode": config.mode})
    batch = env.pz.batch
    return env, env_info(batch, config), ObsSplit.from_env(batch)


def _entropy(config: TrainConfig) -> float | list[list[float]]:
    """The entropy coefficient in RLlib's form: a number, or a schedule of two or more points."""
    pts = [list(p) for p in sorted(config.entropy_schedule)]
    return pts[0][1] if len(pts) == 1 else pts


def ppo_config(config: TrainConfig, num_env_runners: int) -> PPOConfig:
    """RLlib's PPO with the built-in trainer's hyperparameters and the masking module, one shared policy.

    Steps are counted per agent: one iteration = ``num_envs`` complete episodes x episode length x
    regions agent steps, split into ``minibatches`` minibatches for ``epochs`` epochs.
    """
    env, _, split = env_facts(config)
    batch = env.pz.batch
    agent_steps = config.num_envs * batch.episode_length * batch.n_agents
    model = {"split": [split.n_agents, split.shared_dim, split.private_dim], "hidden": list(config.hidden)}
    spec = RLModuleSpec(module_class=MaskedSharedPolicyModule, model_config=model)
    env_config = {
        "protocol": protocol_spec(config.protocol),
        "mode": config.mode,
        "stage_dims": config.stage_dims,
    }
    ppo: Any = PPOConfig  # untyped in RLlib
    built: PPOConfig = (
        ppo()
        .environment(RiceMultiAgentEnv, env_config=env_config, disable_env_checking=True)
        # no sample timeout: RLlib drops an env runner's episodes that come later than it (the default
        # 60 s on a loaded machine), which would make the run depend on timing
        .env_runners(num_env_runners=num_env_runners, batch_mode="complete_episodes", sample_timeout_s=None)
        .multi_agent(policies={MODULE_ID}, policy_mapping_fn=_shared_policy, count_steps_by="agent_steps")
        .rl_module(rl_module_spec=MultiRLModuleSpec(rl_module_specs={MODULE_ID: spec}))
        .training(
            train_batch_size_per_learner=agent_steps,
            minibatch_size=max(1, agent_steps // config.minibatches),
            num_epochs=config.epochs,
            lr=config.lr,
            gamma=config.gamma,
            lambda_=config.gae_lambda,
            clip_param=config.clip_param,
            vf_loss_coeff=config.vf_coeff,
            vf_clip_param=float("inf"),
            entropy_coeff=_entropy(config),  # RLlib also takes a schedule
            grad_clip=config.grad_clip,
            grad_clip_by="global_norm",
            # the KL term is computed (reported as approx_kl) but weighs 0, as in the built-in PPO
            use_kl_loss=True,
            kl_coeff=0.0,
        )
        .callbacks(EpisodeMetrics)
        .debugging(seed=config.seed, log_level="ERROR")
    )
    return built


def check_config(config: TrainConfig, num_env_runners: int) -> None:
    """Reject what the RLlib engine cannot run (ValueError), before anything starts."""
    if config.algo != "ppo":
        raise ValueError(f"--engine rllib trains with PPO; preset algo {config.algo!r} needs --engine local")
    if not config.normalize_advantages:
        raise ValueError("--engine rllib always normalizes advantages (RLlib's PPO)")
    if not isinstance(num_env_runners, int) or num_env_runners < 0:
        raise ValueError(f"--num-env-runners must be an integer >= 0, got {num_env_runners!r}")


def _checkpoint_dir(out: Path) -> Path | None:
    """The finished RLlib checkpoint of ``out`` (the previous one if a swap was interrupted), or None."""
    for path in (out / RLLIB_CHECKPOINT, out / OLD_CHECKPOINT):
        if path.is_dir():
            return path
    return None


def check_resume(out: Path, config: TrainConfig) -> tuple[dict[str, int] | None, list[dict[str, Any]]]:
    """Validate an RLlib run to continue; returns its counters (None: no checkpoint yet) and metrics rows.

    PolicyError when config.json or the checkpoint is missing, foreign or of another config.
    """
    try:
        TrainConfig.from_dict(read_saved_config(out))
    except (TypeError, ValueError) as exc:
        raise PolicyError(f"{str(out / CONFIG_FILE)!r} holds no valid training config: {exc}") from None
    ckpt = _checkpoint_dir(out)
    if ckpt is None:
        if (out / CHECKPOINT_FILE).exists():
            raise PolicyError(f"{str(out)!r} is a run of the built-in trainer: resume it with --engine local")
        return None, []
    try:
        state = json.loads((ckpt / STATE_FILE).read_text())
        saved = TrainConfig.from_dict(state["config"])
        counters = {k: int(state[k]) for k in ("iteration", "episodes", "env_steps")}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise PolicyError(f"RLlib checkpoint {str(ckpt)!r} is not a rice-n checkpoint: {exc}") from None
    if saved.replace(episodes=config.episodes) != config:
        raise PolicyError(
            f"run {str(out)!r} was written with another config; resume needs the same options (only "
            f"--episodes may change): saved {saved.to_dict()}"
        )
    history = read_metrics(out / METRICS_FILE)
    if len(history) < counters["iteration"]:
        raise PolicyError(
            f"{out / METRICS_FILE} has fewer lines than the checkpoint's {counters['iteration']}"
        )
    return counters, history[: counters["iteration"]]


def _save_checkpoint(algo: Any, out: Path, config: TrainConfig, counters: dict[str, int]) -> None:
    """Write the algorithm state to a temp folder, then swap it in (a finished checkpoint is only
    replaced by a finished one; a crash between the renames leaves the previous one as OLD_CHECKPOINT)."""
    tmp, old, final = out / TMP_CHECKPOINT, out / OLD_CHECKPOINT, out / RLLIB_CHECKPOINT
    shutil.rmtree(tmp, ignore_errors=True)
    rng = rng_state()
    algo.save_to_path(str(tmp.resolve()))
    write_json_atomic(tmp / RNG_FILE, rng)
    write_json_atomic(
        tmp / STATE_FILE, {"config": config.to_dict(), **counters, "rice_n_version": __version__}
    )
    if final.exists():
        shutil.rmtree(old, ignore_errors=True)
        final.rename(old)
    tmp.rename(final)
    shutil.rmtree(old, ignore_errors=True)


def rng_state() -> dict[str, Any]:
    """The driver's global random generators (what RLlib samples and shuffles with), as JSON."""
    np_state: Any = np.random.get_state()
    version, words, gauss = random.getstate()
    return {
        "torch": torch.get_rng_state().tolist(),
        "numpy": [np_state[0], np.asarray(np_state[1]).tolist(), *(float(x) for x in np_state[2:])],
        "random": [version, list(words), gauss],
    }


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore what :func:`rng_state` saved (ValueError/TypeError/KeyError when malformed)."""
    torch.set_rng_state(torch.tensor(state["torch"], dtype=torch.uint8))
    name, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((name, np.asarray(keys, dtype=np.uint32), int(pos), int(has_gauss), float(cached)))
    version, words, gauss = state["random"]
    random.setstate((int(version), tuple(int(w) for w in words), gauss))


def _restore(algo: Any, out: Path, num_env_runners: int) -> None:
    """Restore the RLlib checkpoint of ``out`` and, sampling in-process, the driver's random generators."""
    ckpt = out / RLLIB_CHECKPOINT
    algo.restore_from_path(str(ckpt.resolve()))
    if num_env_runners > 0:
        print(RESUME_NOTE, file=sys.stderr)
        return
    try:
        set_rng_state(json.loads((ckpt / RNG_FILE).read_text()))
    except (OSError, ValueError, TypeError, KeyError, RuntimeError) as exc:
        raise PolicyError(f"RLlib checkpoint {str(ckpt)!r} has no valid {RNG_FILE}: {exc}") from None


def _clean(out: Path) -> None:
    """Before resuming a run: finish an interrupted checkpoint swap and drop stale temp files."""
    old, final = out / OLD_CHECKPOINT, out / RLLIB_CHECKPOINT
    if old.is_dir() and not final.exists():
        old.rename(final)
    else:
        shutil.rmtree(old, ignore_errors=True)
    shutil.rmtree(out / TMP_CHECKPOINT, ignore_errors=True)
    remove_temp_files(out)


def export_policy(algo: Any, split: ObsSplit, nvec: Any, hidden: tuple[int, ...]) -> SharedPolicy:
    """The learner's weights as a built-in :class:`SharedPolicy`."""
    weights = algo.learner_group.get_weights([MODULE_ID])[MODULE_ID]
    with torch.random.fork_rng(devices=[]):  # its initialization must not move the run's random stream
        policy = SharedPolicy(split, nvec, hidden)
    state = {k.removeprefix("net."): torch.as_tensor(np.asarray(v)) for k, v in weights.items()}
    policy.load_state_dict(state)
    return policy


def _row(
    result: dict[str, Any], counters: dict[str, int], config: TrainConfig, n_agents: int
) -> dict[str, Any]:
    """One metrics.jsonl row with the built-in trainer's keys, from an RLlib training result."""
    sums = result["env_runners"][INFO_KEY]
    n = max(int(sums["episodes"]), 1)
    learner = result["learners"][MODULE_ID]
    rollout_s, learn_s = (float(result["timers"][timer]) for timer in TIMERS)
    env_steps = int(result["env_runners"]["num_env_steps_sampled"])
    return {
        "iteration": counters["iteration"],
        "episodes": counters["episodes"],
        "env_steps": counters["env_steps"],
        "mean_episode_reward": float(sums["episode_reward"]) / n,
        **{k: float(sums[k]) / n for k in EPISODE_KEYS if k != "episode_reward"},
        "entropy_coeff": float(learner["curr_entropy_coeff"]),
        "policy_loss": float(learner["policy_loss"]),
        "value_loss": float(learner["vf_loss"]),
        "entropy": float(learner["entropy"]),
        "approx_kl": float(learner["mean_kl_loss"]),
        "grad_norm": float(learner["gradients_default_optimizer_global_norm"]),
        "masked_actions": int(sums["masked_actions"]),
        "rollout_s": rollout_s,
        "learn_s": learn_s,
        "env_steps_per_s": env_steps / max(rollout_s, 1e-9),
        "learner_samples_per_s": env_steps * n_agents * config.epochs / max(learn_s, 1e-9),
    }


def connect(address: str | None, num_env_runners: int) -> bool:
    """Join the cluster at ``address`` or start a local Ray instance; True when this call started Ray."""
    if ray.is_initialized():
        return False
    quiet: dict[str, Any] = {
        "include_dashboard": False,
        "log_to_driver": False,
        "logging_level": logging.ERROR,
    }
    if address:
        ray.init(address=address, **quiet)
    else:  # a local instance on the loopback address only (see rice_n.train.rllib.LOOPBACK_ENV)
        cpus = max(os.cpu_count() or 1, num_env_runners + 1)
        ray.init(address="local", num_cpus=cpus, _node_ip_address="127.0.0.1", **quiet)
    return True


class _Run:
    """What a checkpoint needs besides the algorithm: the run folder, config, counters and env facts."""

    def __init__(self, out: Path, config: TrainConfig, counters: dict[str, int]) -> None:
        self.out, self.config, self.counters = out, config, counters
        env, self.info, self.split = env_facts(config)
        self.nvec = env.pz.batch.action_nvec
        self.history: list[dict[str, Any]] = []

    def checkpoint(self, algo: Any) -> SharedPolicy:
        """Export the policy (built-in format), then save the resumable RLlib checkpoint."""
        policy = export_policy(algo, self.split, self.nvec, self.config.hidden)
        save_policy(self.out, policy, self.info)
        _save_checkpoint(algo, self.out, self.config, self.counters)
        return policy


def train_rllib(
    config: TrainConfig,
    out: str | Path,
    resume: bool = False,
    num_env_runners: int = 0,
    checkpoint_every: int = 5,
    progress: bool = True,
    stop_after: int | None = None,
    overwrite: bool = False,
) -> TrainResult:
    """Train with RLlib on the connected Ray instance (see :func:`connect`); write the run folder ``out``.

    The built-in trainer's folder contract: a folder holding a run is refused unless ``resume`` (continue
    the RLlib run; from scratch when it has no checkpoint yet) or ``overwrite``; everything is checked
    before the folder is created or changed. ``stop_after`` ends the run after that many iterations.
    """
    check_config(config, num_env_runners)
    if isinstance(checkpoint_every, bool) or not isinstance(checkpoint_every, int) or checkpoint_every < 1:
        raise ValueError(f"checkpoint_every must be an integer >= 1, got {checkpoint_every!r}")
    out = Path(out)
    config_dict = config.to_dict()
    has_run = check_run_folder(out, resume, overwrite)
    if has_run and overwrite:  # the new run is built beside the old one and swapped in once complete
        with owned_output(out, "train", replace=True, marker=False) as staging:
            result = train_rllib(
                config, staging, False, num_env_runners, checkpoint_every, progress, stop_after
            )
        return dataclasses.replace(result, out=out)
    # a run killed after its marker but before its config.json has nothing to continue: it starts anew
    started = has_run and (out / CONFIG_FILE).exists()
    counters, history = check_resume(out, config) if (resume and started) else (None, [])
    run = _Run(out, config, counters or {"iteration": 0, "episodes": 0, "env_steps": 0})
    run.history = history
    algo: Any = ppo_config(config, num_env_runners).build_algo()
    try:
        with output_dir(out):
            if has_run:
                _clean(out)
            else:
                write_marker(out, "train")
            if counters is not None:
                _restore(algo, out, num_env_runners)
            _write_metrics(out / METRICS_FILE, run.history)
            write_json_atomic(
                out / CONFIG_FILE,
                {
                    "config": config_dict,
                    "seed": config.seed,
                    "env": run.info,
                    "device": "cpu",
                    "engine": "rllib",
                    "num_env_runners": num_env_runners,
                    "ray_version": ray.__version__,
                    "rice_n_version": __version__,
                },
            )
        policy = _loop(algo, run, checkpoint_every, progress, stop_after)
    finally:
        algo.stop()
    return TrainResult(policy=policy, history=run.history, out=out)


def _loop(
    algo: Any, run: _Run, checkpoint_every: int, progress: bool, stop_after: int | None
) -> SharedPolicy:
    """Train until ``config.episodes`` episodes (or ``stop_after`` iterations); returns the policy."""
    config, counters = run.config, run.counters
    start = saved = counters["iteration"]
    for timer in TIMERS:  # per-iteration sums (RLlib's default is a slow moving average)
        algo.metrics.log_value(("timers", timer), 0.0, reduce="sum")
    policy: SharedPolicy | None = None
    bar = _progress(config.episodes, counters["episodes"], progress and not os.environ.get("TQDM_DISABLE"))
    try:
        while counters["episodes"] < config.episodes:
            if stop_after is not None and counters["iteration"] - start >= stop_after:
                break
            result = algo.train()
            done = int(result["env_runners"][INFO_KEY]["episodes"])
            counters["iteration"] += 1
            counters["episodes"] += done
            counters["env_steps"] += int(result["env_runners"]["num_env_steps_sampled"])
            row = _row(result, counters, config, run.split.n_agents)
            run.history.append(row)
            _write_metrics(run.out / METRICS_FILE, run.history)
            if bar is not None:
                bar.update(done)
                bar.set_postfix(
                    reward=f"{row['mean_episode_reward']:.1f}", dT=f"{row['temperature_rise']:.2f}"
                )
            if counters["iteration"] % checkpoint_every == 0:
                policy = run.checkpoint(algo)
                saved = counters["iteration"]
    finally:
        if bar is not None:
            bar.close()
    return policy if policy is not None and saved == counters["iteration"] else run.checkpoint(algo)
