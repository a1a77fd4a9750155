"""Run a fixed policy through one RICE-N episode and write its trajectory, metrics and plots."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rice_n import __version__
from rice_n._io import write_csv_atomic, write_json_atomic
from rice_n.batch import BatchRiceEnv
from rice_n.dynamics import RiceState

#: Columns of ``trajectory.csv`` (economic columns summed over regions; ``t`` = activity step).
TRAJECTORY_COLUMNS = (
    "t",
    "year",
    "T_AT",
    "T_LO",
    "M_AT",
    "M_UP",
    "M_LO",
    "gross_output",
    "consumption",
    "capital",
    "labor",
    "reward",
    "investment",
    "production",
    "emissions",
    "exports",
    "mean_savings",
    "mean_mitigation",
)
REGION_COLUMNS = (
    "t",
    "year",
    "region",
    "gross_output",
    "consumption",
    "capital",
    "labor",
    "reward",
    "savings",
    "mitigation",
    "balance",
)

#: Named fixed policies, as fractions (savings, mitigation, export limit, import bid, tariff).
NAMED_POLICIES: dict[str, dict[str, float]] = {
    "business-as-usual": {
        "savings": 0.2,
        "mitigation": 0.0,
        "export_limit": 0.0,
        "import_bid": 0.0,
        "tariff": 0.0,
    },
    "moderate": {"savings": 0.2, "mitigation": 0.5, "export_limit": 0.3, "import_bid": 0.01, "tariff": 0.0},
    "worst-climate": {
        "savings": 1.0,
        "mitigation": 0.0,
        "export_limit": 0.0,
        "import_bid": 0.0,
        "tariff": 0.0,
    },
    "best-climate": {
        "savings": 0.0,
        "mitigation": 1.0,
        "export_limit": 0.0,
        "import_bid": 0.0,
        "tariff": 0.0,
    },
}


class PlanError(ValueError):
    """An action plan is malformed (shape, type or range)."""


@dataclass
class SimulationResult:
    """States after each activity step (t = 0 included) and headline metrics of one episode."""

    states: list[RiceState]
    metrics: dict[str, Any]
    env: BatchRiceEnv


def load_plan(path: str | Path, n_regions: int, n_actions: int, levels: int) -> np.ndarray:
    """Read PLAN.json: one action vector (used by every region) or one per region -> fractions (N, D).

    Each vector has 3 + 2N integers in upstream's 57-slot layout (or all the env's dims); the values are
    action levels in [0, levels] (``levels`` itself, fraction 1.0, is allowed: upstream's index bounds).
    """
    path = Path(path)
    if path.is_dir():
        raise PlanError(f"action plan {str(path)!r} is a folder; give a JSON file")
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise PlanError(f"action plan {str(path)!r} does not exist") from None
    except OSError as exc:
        raise PlanError(f"action plan {str(path)!r} cannot be read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise PlanError(f"action plan {str(path)!r} is not a UTF-8 text file") from None
    except ValueError as exc:  # JSONDecodeError, or an integer of more digits than Python converts
        raise PlanError(f"action plan {str(path)!r} is not valid JSON: {exc}") from None
    return plan_fractions(data, n_regions, n_actions, levels)


def plan_fractions(data: Any, n_regions: int, n_actions: int, levels: int) -> np.ndarray:
    """Validate a plan (list of ints, or N lists of ints) and return fractions ``(N, n_actions)``."""
    n_activity = 3 + 2 * n_regions
    if not isinstance(data, list) or not data:
        raise PlanError("the plan must be a non-empty JSON list")
    if all(isinstance(row, list) for row in data):
        if len(data) != n_regions:
            raise PlanError(
                f"the plan has {len(data)} per-region vectors; expected {n_regions} (one per region)"
            )
        rows = data
    elif any(isinstance(row, list) for row in data):
        raise PlanError("the plan mixes numbers and lists: give one vector or one vector per region")
    else:
        rows = [data] * n_regions
    out = np.zeros((n_regions, n_actions))
    for r, row in enumerate(rows):
        if len(row) not in (n_activity, n_actions):
            raise PlanError(
                f"region {r}: the action vector has {len(row)} entries; expected {n_activity} "
                f"(upstream layout){'' if n_actions == n_activity else f' or {n_actions}'}"
            )
        for d, value in enumerate(row):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise PlanError(f"region {r}, slot {d}: {_short(value)} is not a finite number")
            if isinstance(value, float) and not math.isfinite(value):
                raise PlanError(f"region {r}, slot {d}: {value!r} is not a finite number")
            if isinstance(value, float) and value != int(value):
                raise PlanError(f"region {r}, slot {d}: {value!r} is not an integer action level")
            top = levels if d < n_activity else (1 if d >= n_activity + 2 * n_regions else levels)
            if not 0 <= value <= top:  # exact for Python ints of any size
                raise PlanError(f"region {r}, slot {d}: action {_short(value)} is out of range [0, {top}]")
        vec = np.asarray(row, dtype=np.float64)
        scale = np.full(vec.size, 1.0 / levels)
        if vec.size == n_actions and n_actions > n_activity + 2 * n_regions:
            scale[n_activity + 2 * n_regions :] = 1.0
        out[r, : vec.size] = vec * scale
    return out


def _short(value: Any) -> str:
    """``repr`` of a plan value, shortened (a 400-digit integer is not repeated in full)."""
    text = repr(value)
    return text if len(text) <= 24 else f"{text[:10]}...{text[-6:]} ({len(text)} characters)"


def policy_fractions(
    env: BatchRiceEnv,
    savings: float,
    mitigation: float,
    export_limit: float = 0.0,
    import_bid: float = 0.0,
    tariff: float = 0.0,
) -> np.ndarray:
    """Fractions ``(N, D)`` of a fixed policy used by every region at every step."""
    for name, value in {
        "savings": savings,
        "mitigation": mitigation,
        "export_limit": export_limit,
        "import_bid": import_bid,
        "tariff": tariff,
    }.items():
        if not (isinstance(value, (int, float)) and math.isfinite(value) and 0.0 <= value <= 1.0):
            raise PlanError(f"{name} must be a number in [0, 1], got {value!r}")
    lay = env.layout
    f = np.zeros((env.n_agents, env.n_actions))
    f[:, 0], f[:, 1], f[:, 2] = savings, mitigation, export_limit
    f[:, lay.import_slots] = import_bid
    f[:, lay.tariff_slots] = tariff
    return f


def simulate(
    fractions: np.ndarray | None = None,
    env: BatchRiceEnv | None = None,
    actor: Any = None,
    **env_kwargs: Any,
) -> SimulationResult:
    """Run one episode where every step uses ``fractions`` ``(N, D)`` (unchecked path), or where
    ``actor(obs, mask, stage)`` gives integer actions ``(1, N, D)`` at each step (checked path)."""
    if (fractions is None) == (actor is None):
        raise ValueError("simulate needs either fractions or an actor")
    env = env or BatchRiceEnv(num_envs=1, observe=False, **env_kwargs)
    obs, mask = env.reset()
    states = [env.state]
    done = False
    while not done:
        if actor is not None:
            obs, mask, _, done, info = env.step(actor(obs, mask, env.next_stage))
        else:
            _, _, _, done, info = env.step_unchecked(np.asarray(fractions)[None])
        if info["stage"] == 0:
            states.append(env.state)
    metrics = {k: float(v[0]) for k, v in env.episode_metrics().items()}
    return SimulationResult(states=states, metrics=metrics, env=env)


def trajectory_rows(result: SimulationResult) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Rows of ``trajectory.csv`` (one per activity step) and of ``regions.csv`` (step x region)."""
    env = result.env
    p, ops = env.params, env.ops
    rows, region_rows = [], []
    for s in result.states:
        g = {
            k: ops.to_numpy(getattr(s, k))[0]
            for k in (
                "T",
                "M",
                "gross_output",
                "consumption",
                "K",
                "L",
                "reward",
                "investment",
                "production",
                "emissions",
                "exports",
                "savings",
                "mitigation",
                "D",
            )
        }
        year = int(p.start_year + p.delta * s.t)
        rows.append(
            {
                "t": s.t,
                "year": year,
                "T_AT": float(g["T"][0]),
                "T_LO": float(g["T"][1]),
                "M_AT": float(g["M"][0]),
                "M_UP": float(g["M"][1]),
                "M_LO": float(g["M"][2]),
                "gross_output": float(g["gross_output"].sum()),
                "consumption": float(g["consumption"].sum()),
                "capital": float(g["K"].sum()),
                "labor": float(g["L"].sum()),
                "reward": float(g["reward"].sum()),
                "investment": float(g["investment"].sum()),
                "production": float(g["production"].sum()),
                "emissions": float(g["emissions"].sum()),
                "exports": float(g["exports"].sum()),
                "mean_savings": float(g["savings"].mean()),
                "mean_mitigation": float(g["mitigation"].mean()),
            }
        )
        for r, name in enumerate(p.region_names):
            region_rows.append(
                {
                    "t": s.t,
                    "year": year,
                    "region": name,
                    "gross_output": float(g["gross_output"][r]),
                    "consumption": float(g["consumption"][r]),
                    "capital": float(g["K"][r]),
                    "labor": float(g["L"][r]),
                    "reward": float(g["reward"][r]),
                    "savings": float(g["savings"][r]),
                    "mitigation": float(g["mitigation"][r]),
                    "balance": float(g["D"][r]),
                }
            )
    return rows, region_rows


def write_outputs(
    result: SimulationResult, out: str | Path, config: dict[str, Any], plots: bool = True
) -> dict[str, Any]:
    """Write trajectory.csv/.json, regions.csv, metrics.json and (with matplotlib) PNG plots under ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rows, region_rows = trajectory_rows(result)
    write_csv_atomic(out / "trajectory.csv", rows, TRAJECTORY_COLUMNS)
    write_json_atomic(out / "trajectory.json", rows)
    write_csv_atomic(out / "regions.csv", region_rows, REGION_COLUMNS)
    metrics = {**result.metrics, "config": config, "rice_n_version": __version__}
    write_json_atomic(out / "metrics.json", metrics)
    written = ["trajectory.csv", "trajectory.json", "regions.csv", "metrics.json"]
    if plots:
        from rice_n.plots import plot_trajectory

        written += plot_trajectory(rows, region_rows, out)
    return {"files": written, "metrics": metrics}
