"""``rice-n demo``: a short real PPO training run, its evaluation report against the random policy, and
two fixed policies simulated for reference. Without torch it runs the fixed-policy part only."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from rice_n import __version__
from rice_n._io import OutputError, output_dir, write_json_atomic
from rice_n.batch import BatchRiceEnv
from rice_n.metrics import hypervolume
from rice_n.simulate import NAMED_POLICIES, policy_fractions, simulate, write_outputs

DEMO_EPISODES = 200
#: What a previous demo leaves in its folder (a folder holding one of these may be reused).
DEMO_MARKERS = ("demo.json", "run", "business-as-usual", "moderate")


def check_demo_dir(out: Path) -> None:
    """Refuse an ``out`` that is a file, lies under one, or holds something other than a previous demo."""
    from rice_n._io import check_output_dir

    try:
        check_output_dir(out, DEMO_MARKERS, "rice-n demo", overwrite=True)
    except OutputError as exc:
        raise OutputError(str(exc)) from None


def _fixed_policies(out: Path, seed: int) -> dict[str, dict[str, Any]]:
    """Simulate business-as-usual and a moderate mitigation policy (one episode each)."""
    results = {}
    for name in ("business-as-usual", "moderate"):
        env = BatchRiceEnv(num_envs=1, observe=False)
        fractions = policy_fractions(env, **NAMED_POLICIES[name])
        res = simulate(fractions, env=env)
        write_outputs(res, out / name, {"policy": {"name": name, **NAMED_POLICIES[name]}, "seed": seed})
        results[name] = res.metrics
    return results


def _train_and_evaluate(out: Path, seed: int, episodes: int, eval_episodes: int) -> dict[str, Any]:
    """Train PPO for ``episodes`` episodes, then evaluate it and the random policy on the same seed."""
    from rice_n.evaluate import evaluate_policy, write_evaluation
    from rice_n.plots import plot_indices, plot_learning_curve
    from rice_n.train import preset, train

    t0 = time.perf_counter()
    result = train(preset("ppo", episodes=episodes, seed=seed), out / "run", overwrite=True)
    train_s = time.perf_counter() - t0
    plot_learning_curve(result.history, out / "run")
    trained = evaluate_policy(out / "run", episodes=eval_episodes, seed=seed)
    random = evaluate_policy("random", episodes=eval_episodes, seed=seed)
    ev = write_evaluation(trained, out / "eval")
    rnd = write_evaluation(random, out / "random")
    plot_indices({"PPO": trained.per_episode, "random": random.per_episode}, out, name="indices.png")
    return {"trained": ev, "random": rnd, "train_seconds": train_s, "history": result.history}


def run_demo(out: Path, seed: int = 0, episodes: int | None = None, eval_episodes: int = 10) -> int:
    """Train, evaluate and report; write ``out/demo.json`` (``key_figure``: trained vs random)."""
    episodes = DEMO_EPISODES if episodes is None else episodes
    check_demo_dir(out)
    with output_dir(out):
        return _run_demo(out, seed, episodes, eval_episodes)


def _run_demo(out: Path, seed: int, episodes: int, eval_episodes: int) -> int:
    fixed = _fixed_policies(out, seed)
    summary: dict[str, Any] = {"policies": fixed, "seed": seed, "rice_n_version": __version__}
    try:
        import torch  # noqa: F401
    except ImportError:
        torch_ok = False
    else:
        torch_ok = True
    if torch_ok:
        rep = _train_and_evaluate(out, seed, episodes, eval_episodes)
        tr, rnd = rep["trained"], rep["random"]
        summary.update(
            {
                "key_figure": (
                    f"PPO {episodes} ep ({rep['train_seconds']:.0f} s): episode reward "
                    f"{tr['episode_reward']:.1f} vs random {rnd['episode_reward']:.1f}, "
                    f"+{tr['temperature_rise']:.2f} °C"
                ),
                "training": {
                    "episodes": episodes,
                    "seconds": rep["train_seconds"],
                    "first_mean_episode_reward": rep["history"][0]["mean_episode_reward"],
                    "last_mean_episode_reward": rep["history"][-1]["mean_episode_reward"],
                },
                "evaluation": {
                    k: {
                        m: v[m]
                        for m in ("episode_reward", "temperature_rise", "climate_index", "economic_index")
                    }
                    for k, v in (("ppo", tr), ("random", rnd))
                },
                "hypervolume": hypervolume(
                    [[v["climate_index"], v["economic_index"]] for v in (tr, rnd, *fixed.values())]
                ),
            }
        )
    else:
        bau, mod = fixed["business-as-usual"], fixed["moderate"]
        summary["key_figure"] = (
            f"2115 warming +{bau['temperature_rise']:.2f} °C (BAU) vs +{mod['temperature_rise']:.2f} °C "
            f"(mitigation 0.5); no torch: training skipped"
        )
        summary["hypervolume"] = hypervolume(
            [[m["climate_index"], m["economic_index"]] for m in fixed.values()]
        )
    write_json_atomic(out / "demo.json", summary)
    print(summary["key_figure"])
    return 0
