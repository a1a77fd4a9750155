"""``rice-n demo``: two fixed policies through one episode each, with trajectories, metrics and plots."""

from __future__ import annotations

from pathlib import Path

from rice_n import __version__
from rice_n._io import write_json_atomic
from rice_n.batch import BatchRiceEnv
from rice_n.metrics import hypervolume
from rice_n.simulate import NAMED_POLICIES, policy_fractions, simulate, write_outputs


def run_demo(out: Path, seed: int = 0) -> int:
    """Simulate business-as-usual and a moderate mitigation policy; write ``out/demo.json``."""
    out.mkdir(parents=True, exist_ok=True)
    results = {}
    for name in ("business-as-usual", "moderate"):
        env = BatchRiceEnv(num_envs=1, observe=False)
        fractions = policy_fractions(env, **NAMED_POLICIES[name])
        res = simulate(fractions, env=env)
        write_outputs(res, out / name, {"policy": {"name": name, **NAMED_POLICIES[name]}, "seed": seed})
        results[name] = res.metrics
    bau, mod = results["business-as-usual"], results["moderate"]
    points = [[m["climate_index"], m["economic_index"]] for m in results.values()]
    summary = {
        "key_figure": (
            f"2115 warming +{bau['temperature_rise']:.2f} °C (BAU) vs +{mod['temperature_rise']:.2f} °C "
            f"(mitigation 0.5)"
        ),
        "policies": results,
        "hypervolume": hypervolume(points),
        "seed": seed,
        "rice_n_version": __version__,
    }
    write_json_atomic(out / "demo.json", summary)
    print(summary["key_figure"])
    return 0
