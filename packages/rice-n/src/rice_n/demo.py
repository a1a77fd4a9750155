"""``rice-n demo``: a short real PPO training run of the shared regional policy, its evaluation against
the random policy on the same seed, and two fixed policies simulated for reference.

Single-threaded (``torch.set_num_threads(1)``); prints one line per stage; writes ``DIR/demo.json`` with
``key_figure`` and ``figures`` (headline numbers rounded to 3 significant digits). Without torch it runs
the fixed-policy part only.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from rice_n import __version__
from rice_n._io import check_owned_dir, owned_output, write_json_atomic
from rice_n.batch import BatchRiceEnv
from rice_n.simulate import NAMED_POLICIES, policy_fractions, simulate, write_outputs

DEMO_EPISODES = 120
EVAL_EPISODES = 10


def check_demo_dir(out: Path) -> bool:
    """Refuse an ``out`` that is a file, lies under one, or holds anything but a previous demo (recognised
    only by its marker ``.rice-n-run.json`` of kind ``demo``); True when it holds one (to be replaced)."""
    return check_owned_dir(out, "demo", "rice-n demo", replace=True)


def _sig3(x: float) -> float:
    """``x`` rounded to 3 significant digits (reproducible figures)."""
    return float(f"{x:.3g}")


def _stage(i: int, n: int, text: str) -> None:
    print(f"[{i}/{n}] {text}", flush=True)


def run_demo(
    out: Path, seed: int = 0, episodes: int | None = None, eval_episodes: int = EVAL_EPISODES
) -> int:
    """Simulate, train, evaluate and report; write ``out/demo.json``.

    ``out`` is missing, empty, or an earlier demo's folder (its marker): an earlier demo is replaced only
    once the new one is complete (built in a sibling staging folder, then swapped in).
    """
    episodes = DEMO_EPISODES if episodes is None else episodes
    replace = check_demo_dir(out)
    with owned_output(out, "demo", replace) as folder:
        return _run_demo(folder, seed, episodes, eval_episodes)


def _run_demo(out: Path, seed: int, episodes: int, eval_episodes: int) -> int:
    try:
        import torch
    except ImportError:
        torch = None  # type: ignore[assignment]
    n = 4 if torch is not None else 2
    _stage(1, n, "simulating business-as-usual and moderate mitigation (one episode each)")
    fixed = {}
    for name in ("business-as-usual", "moderate"):
        env = BatchRiceEnv(num_envs=1, observe=False)
        res = simulate(policy_fractions(env, **NAMED_POLICIES[name]), env=env)
        write_outputs(res, out / name, {"policy": {"name": name, **NAMED_POLICIES[name]}})
        fixed[name] = res.metrics
    figures = {
        "bau_temperature_rise": _sig3(fixed["business-as-usual"]["temperature_rise"]),
        "moderate_temperature_rise": _sig3(fixed["moderate"]["temperature_rise"]),
    }
    summary: dict[str, Any] = {"seed": seed, "policies": fixed, "rice_n_version": __version__}
    if torch is None:
        summary["key_figure"] = (
            f"BAU +{figures['bau_temperature_rise']} vs +{figures['moderate_temperature_rise']} °C"
        )
        _stage(2, n, "torch is not installed (pip install 'rice-n[train]'): training skipped")
    else:
        from rice_n.evaluate import evaluate_policy, write_evaluation
        from rice_n.plots import plot_indices, plot_learning_curve
        from rice_n.train import preset, train

        torch.set_num_threads(1)
        _stage(2, n, f"training the shared PPO policy for {episodes} episodes (27 regions, seed {seed})")
        c0 = time.process_time()
        result = train(preset("ppo", episodes=episodes, seed=seed), out / "run", progress=False)
        train_cpu = time.process_time() - c0
        plot_learning_curve(result.history, out / "run")
        _stage(
            3, n, f"evaluating the trained and the random policy ({eval_episodes} episodes each, seed {seed})"
        )
        trained = write_evaluation(
            evaluate_policy(out / "run", episodes=eval_episodes, seed=seed), out / "eval"
        )
        random = write_evaluation(
            evaluate_policy("random", episodes=eval_episodes, seed=seed), out / "random"
        )
        plot_indices(
            {"PPO": trained["per_episode"], "random": random["per_episode"]}, out, name="indices.png"
        )
        _stage(4, n, "writing demo.json")
        figures.update(
            {
                "ppo_episode_reward": _sig3(trained["episode_reward"]),
                "random_episode_reward": _sig3(random["episode_reward"]),
                "ppo_temperature_rise": _sig3(trained["temperature_rise"]),
                "random_temperature_rise": _sig3(random["temperature_rise"]),
                "ppo_economic_index": _sig3(trained["economic_index"]),
                "random_economic_index": _sig3(random["economic_index"]),
            }
        )
        summary["key_figure"] = (
            f"PPO reward {figures['ppo_episode_reward']:g} vs random {figures['random_episode_reward']:g}"
        )
        summary["training"] = {
            "episodes": episodes,
            "cpu_seconds": train_cpu,
            "first_mean_episode_reward": result.history[0]["mean_episode_reward"],
            "last_mean_episode_reward": result.history[-1]["mean_episode_reward"],
        }
    summary["figures"] = figures
    write_json_atomic(out / "demo.json", summary)
    print(summary["key_figure"], flush=True)
    return 0
