"""Model parameters of RICE-N: global constants and per-region calibrations, loaded from shipped data.

The shipped data (``rice_n/data/regions.csv`` and ``rice_n/data/default_constants.yml``) is upstream's
calibration (mila-iqia/climate-cooperation-competition, BSD-3-Clause, Copyright (c) 2022 salesforce.com,
inc and MILA; see ``rice_n/data/LICENSE-upstream.txt``).

A user can pass a region table of their own (CSV, or YAML as a list of mappings / a mapping of region name
to mapping); every value is checked (finite, physical, right shapes) and errors name the bad value.
"""

from __future__ import annotations

import csv
import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import yaml

#: The 12 keys every region row must give (upstream region-file keys without the leading ``x``).
REGION_KEYS: tuple[str, ...] = (
    "A_0",
    "K_0",
    "L_0",
    "L_a",
    "a_1",
    "a_2",
    "a_3",
    "delta_A",
    "g_A",
    "gamma",
    "l_g",
    "sigma_0",
)

#: Per-region economic constants with shared defaults (``_RICE_CONSTANT``) that a region row may override.
REGION_OPTIONAL_KEYS: tuple[str, ...] = (
    "theta_2",
    "delta_K",
    "alpha",
    "rho",
    "g_sigma",
    "delta_sigma",
    "p_b",
    "delta_pb",
)


class ParamsError(ValueError):
    """A parameter table or constant is missing, malformed or non-physical."""


@dataclass(frozen=True)
class RiceParams:
    """Every constant of the RICE-N model (float64 numpy arrays; per-region arrays have shape ``(N,)``).

    Global (climate, timing) fields come from ``_DICE_CONSTANT``; per-region fields from the region table
    with ``_RICE_CONSTANT`` defaults. The Armington, debt and utility constants are hard-coded upstream and
    are exposed here so that a researcher can change them.
    """

    region_names: tuple[str, ...]
    # --- timing ---
    start_year: int = 2015
    delta: float = 5.0
    n_steps: int = 20
    # --- climate ---
    phi_T: np.ndarray = field(default_factory=lambda: np.array([[0.8718, 0.0088], [0.025, 0.975]]))
    b_T: np.ndarray = field(default_factory=lambda: np.array([0.1005, 0.0]))
    phi_M: np.ndarray = field(
        default_factory=lambda: np.array(
            [[0.88, 0.196, 0.0], [0.12, 0.797, 0.001465], [0.0, 0.007, 0.99853488]]
        )
    )
    b_M: np.ndarray = field(default_factory=lambda: np.array([1.36388, 0.0, 0.0]))
    M_AT_1750: float = 588.0
    f_0: float = 0.5
    f_1: float = 1.0
    t_f: float = 20.0
    E_L0: float = 2.6
    delta_EL: float = 0.001
    M_0: np.ndarray = field(default_factory=lambda: np.array([851.0, 460.0, 1740.0]))
    T_0: np.ndarray = field(default_factory=lambda: np.array([0.85, 0.0068]))
    F_2x: float = 3.6813
    # --- per region (N,) ---
    A_0: np.ndarray = field(default_factory=lambda: np.zeros(0))
    K_0: np.ndarray = field(default_factory=lambda: np.zeros(0))
    L_0: np.ndarray = field(default_factory=lambda: np.zeros(0))
    L_a: np.ndarray = field(default_factory=lambda: np.zeros(0))
    a_1: np.ndarray = field(default_factory=lambda: np.zeros(0))
    a_2: np.ndarray = field(default_factory=lambda: np.zeros(0))
    a_3: np.ndarray = field(default_factory=lambda: np.zeros(0))
    delta_A: np.ndarray = field(default_factory=lambda: np.zeros(0))
    g_A: np.ndarray = field(default_factory=lambda: np.zeros(0))
    gamma: np.ndarray = field(default_factory=lambda: np.zeros(0))
    l_g: np.ndarray = field(default_factory=lambda: np.zeros(0))
    sigma_0: np.ndarray = field(default_factory=lambda: np.zeros(0))
    theta_2: np.ndarray = field(default_factory=lambda: np.zeros(0))
    delta_K: np.ndarray = field(default_factory=lambda: np.zeros(0))
    alpha: np.ndarray = field(default_factory=lambda: np.zeros(0))
    rho: np.ndarray = field(default_factory=lambda: np.zeros(0))
    g_sigma: np.ndarray = field(default_factory=lambda: np.zeros(0))
    delta_sigma: np.ndarray = field(default_factory=lambda: np.zeros(0))
    p_b: np.ndarray = field(default_factory=lambda: np.zeros(0))
    delta_pb: np.ndarray = field(default_factory=lambda: np.zeros(0))
    # --- trade and utility (hard-coded upstream) ---
    sub_rate: float = 0.5
    dom_pref: float = 0.5
    #: Armington weight of imports, ``(N, N)``; default ``0.5/(N-1)`` off the diagonal.
    for_pref: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    debt_interest: float = 1.1
    debt_ratio_scale: float = 10.0
    #: ``_SMALL_NUM`` of upstream, added to consumption per capita in the utility (0 in paper mode).
    utility_offset: float = 1.0
    tfp_base_growth: float = 0.0033

    @property
    def n_regions(self) -> int:
        """Number of regions N."""
        return len(self.region_names)

    @property
    def end_year(self) -> int:
        """Year at which an episode ends (2115 by default)."""
        return int(self.start_year + self.delta * self.n_steps)

    def replace(self, **changes: Any) -> RiceParams:
        """A validated copy with some fields changed (arrays are converted to float64)."""
        return validate(dataclasses.replace(self, **changes))


_GLOBAL_YAML = {
    "xt_0": "start_year",
    "xDelta": "delta",
    "xN": "n_steps",
    "xPhi_T": "phi_T",
    "xB_T": "b_T",
    "xPhi_M": "phi_M",
    "xB_M": "b_M",
    "xM_AT_1750": "M_AT_1750",
    "xf_0": "f_0",
    "xf_1": "f_1",
    "xt_f": "t_f",
    "xE_L0": "E_L0",
    "xdelta_EL": "delta_EL",
    "xF_2x": "F_2x",
}
_MATRIX_SHAPES = {"phi_T": (2, 2), "b_T": (2,), "phi_M": (3, 3), "b_M": (3,), "M_0": (3,), "T_0": (2,)}


def _data_path(name: str) -> Path:
    return Path(str(resources.files("rice_n") / "data" / name))


def default_regions_path() -> Path:
    """Path of the shipped 27-region calibration table (CSV)."""
    return _data_path("regions.csv")


def default_constants_path() -> Path:
    """Path of the shipped upstream constants file (YAML)."""
    return _data_path("default_constants.yml")


def _as_float(value: Any, what: str) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise ParamsError(f"{what}: {value!r} is not a number") from None
    if not math.isfinite(out):
        raise ParamsError(f"{what}: {value!r} is not finite")
    return out


def _safe_yaml(path: Path, what: str) -> Any:
    """``yaml.safe_load`` of a file (no Python tags); ParamsError naming the file on any failure."""
    try:
        with path.open() as handle:
            return yaml.safe_load(handle)
    except yaml.YAMLError as exc:
        first = " ".join(str(exc).split())[:160]
        raise ParamsError(f"{what} {str(path)!r} is not plain YAML/JSON data: {first}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ParamsError(f"{what} {str(path)!r} cannot be read: {exc}") from None


def read_region_table(path: str | Path) -> list[dict[str, Any]]:
    """Read a region table (``.csv``, ``.yml``/``.yaml`` or ``.json``) into a list of row mappings."""
    path = Path(path)
    if not path.is_file():
        raise ParamsError(f"region table {str(path)!r} does not exist")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        try:
            with path.open(newline="") as handle:
                rows: list[dict[str, Any]] = list(csv.DictReader(handle))
        except (OSError, UnicodeDecodeError, csv.Error) as exc:
            raise ParamsError(f"region table {str(path)!r} cannot be read as CSV: {exc}") from None
    elif suffix in {".yml", ".yaml", ".json"}:
        data = _safe_yaml(path, "region table")
        if isinstance(data, Mapping):
            rows = []
            for name, row in data.items():
                if not isinstance(row, Mapping):
                    raise ParamsError(f"region table {str(path)!r}: region {name!r} is not a mapping")
                rows.append({"name": str(name), **row})
        elif isinstance(data, list):
            rows = [dict(r) if isinstance(r, Mapping) else {"__bad__": r} for r in data]
        else:
            raise ParamsError(f"region table {str(path)!r}: expected a list or mapping of regions")
    else:
        raise ParamsError(f"region table {str(path)!r}: unknown format {suffix!r} (use .csv, .yml or .json)")
    if not rows:
        raise ParamsError(f"region table {str(path)!r} has no rows")
    return rows


def _region_name(row: Mapping[str, Any], index: int) -> str:
    for key in ("name", "region"):
        if key in row and row[key] not in (None, ""):
            return str(row[key])
    return f"region_{index}"


def load_constants(path: str | Path | None = None) -> dict[str, Any]:
    """Load an upstream-style constants YAML (``_DICE_CONSTANT`` and ``_RICE_CONSTANT`` sections)."""
    path = default_constants_path() if path is None else Path(path)
    if not path.is_file():
        raise ParamsError(f"constants file {str(path)!r} does not exist")
    data = _safe_yaml(path, "constants file")
    if not isinstance(data, Mapping) or "_DICE_CONSTANT" not in data or "_RICE_CONSTANT" not in data:
        raise ParamsError(f"constants file {str(path)!r} needs _DICE_CONSTANT and _RICE_CONSTANT sections")
    return {"dice": dict(data["_DICE_CONSTANT"]), "rice": dict(data["_RICE_CONSTANT"])}


def load_params(
    regions: str | Path | Sequence[Mapping[str, Any]] | None = None,
    constants: str | Path | None = None,
    **overrides: Any,
) -> RiceParams:
    """Build validated :class:`RiceParams` from a region table and a constants file.

    Args:
        regions: a path to a region table, a list of row mappings, or ``None`` for the shipped 27 regions
            (region order = row order = upstream region id).
        constants: an upstream-style constants YAML, or ``None`` for the shipped one.
        **overrides: any :class:`RiceParams` field (e.g. ``debt_interest=1.0``).
    """
    consts = load_constants(constants)
    dice, rice = consts["dice"], consts["rice"]
    rows = (
        read_region_table(default_regions_path() if regions is None else regions)
        if (regions is None or isinstance(regions, (str, Path)))
        else [dict(r) for r in regions]
    )
    if not rows:
        raise ParamsError("the region table has no rows")
    if len(rows) < 2:
        raise ParamsError(f"the region table has {len(rows)} region; RICE-N needs at least 2")
    names = tuple(_region_name(r, i) for i, r in enumerate(rows))
    kwargs: dict[str, Any] = {"region_names": names}
    for ykey, fname in _GLOBAL_YAML.items():
        if ykey in dice:
            kwargs[fname] = dice[ykey]
    if all(k in dice for k in ("xM_AT_0", "xM_UP_0", "xM_LO_0")):
        kwargs["M_0"] = [dice["xM_AT_0"], dice["xM_UP_0"], dice["xM_LO_0"]]
    if all(k in rice for k in ("xT_AT_0", "xT_LO_0")):
        kwargs["T_0"] = [rice["xT_AT_0"], rice["xT_LO_0"]]
    for key in REGION_KEYS + REGION_OPTIONAL_KEYS:
        column = []
        for i, row in enumerate(rows):
            if "__bad__" in row:
                raise ParamsError(f"region row {i}: {row['__bad__']!r} is not a mapping")
            value = row.get(key, row.get("x" + key))
            if value in (None, ""):
                if key in REGION_KEYS:
                    raise ParamsError(f"region {names[i]!r} (row {i}): missing value for {key!r}")
                value = rice.get("x" + key)
                if value is None:
                    raise ParamsError(f"constants file: missing default for 'x{key}'")
            column.append(_as_float(value, f"region {names[i]!r} (row {i}), {key}"))
        kwargs[key] = np.array(column, dtype=np.float64)
    kwargs.update(overrides)
    return validate(RiceParams(**kwargs))


def validate(params: RiceParams) -> RiceParams:
    """Convert array fields to float64, check shapes and physical ranges; return the checked params."""
    n = params.n_regions
    if n < 2:
        raise ParamsError(f"need at least 2 regions, got {n}")
    changes: dict[str, Any] = {}
    for name, shape in _MATRIX_SHAPES.items():
        arr = np.asarray(getattr(params, name), dtype=np.float64)
        if arr.shape != shape:
            raise ParamsError(f"{name} must have shape {shape}, got {arr.shape}")
        if not np.all(np.isfinite(arr)):
            raise ParamsError(f"{name} has a non-finite value: {arr.tolist()}")
        changes[name] = arr
    for name in REGION_KEYS + REGION_OPTIONAL_KEYS:
        arr = np.asarray(getattr(params, name), dtype=np.float64)
        if arr.ndim == 0:
            arr = np.full(n, float(arr))
        if arr.shape != (n,):
            raise ParamsError(f"{name} must have one value per region ({n}), got shape {arr.shape}")
        bad = np.flatnonzero(~np.isfinite(arr))
        if bad.size:
            i = int(bad[0])
            raise ParamsError(f"{name} of region {params.region_names[i]!r} is not finite: {arr[i]!r}")
        changes[name] = arr
    positive = ("A_0", "K_0", "L_0", "L_a", "sigma_0", "theta_2", "p_b")
    for name in positive:
        arr = changes[name]
        bad = np.flatnonzero(arr <= 0)
        if bad.size:
            i = int(bad[0])
            raise ParamsError(f"{name} of region {params.region_names[i]!r} must be positive, got {arr[i]!r}")
    ranges = {"gamma": (0.0, 1.0), "delta_K": (0.0, 1.0), "delta_sigma": (0.0, 1.0), "delta_pb": (0.0, 1.0)}
    for name, (lo, hi) in ranges.items():
        arr = changes[name]
        bad = np.flatnonzero((arr < lo) | (arr >= hi))
        if bad.size:
            i = int(bad[0])
            raise ParamsError(
                f"{name} of region {params.region_names[i]!r} must lie in [{lo}, {hi}), got {arr[i]!r}"
            )
    for name in ("a_1", "a_2", "rho"):
        arr = changes[name]
        bad = np.flatnonzero(arr < 0)
        if bad.size:
            i = int(bad[0])
            raise ParamsError(f"{name} of region {params.region_names[i]!r} must be >= 0, got {arr[i]!r}")
    if np.any(changes["alpha"] == 1.0):
        raise ParamsError("alpha = 1 is not supported (the CRRA utility divides by 1 - alpha)")
    for_pref = np.asarray(params.for_pref, dtype=np.float64)
    if for_pref.size == 0:
        for_pref = np.full((n, n), (1.0 - params.dom_pref) / (n - 1))
        np.fill_diagonal(for_pref, 0.0)
    if for_pref.shape != (n, n):
        raise ParamsError(f"for_pref must be an (N, N) = ({n}, {n}) matrix, got shape {for_pref.shape}")
    if not np.all(np.isfinite(for_pref)) or np.any(for_pref < 0):
        raise ParamsError("for_pref must be finite and non-negative")
    changes["for_pref"] = for_pref
    scalars = {
        "delta": params.delta,
        "M_AT_1750": params.M_AT_1750,
        "t_f": params.t_f,
        "sub_rate": params.sub_rate,
        "debt_ratio_scale": params.debt_ratio_scale,
    }
    for name, value in scalars.items():
        if _as_float(value, name) <= 0:
            raise ParamsError(f"{name} must be positive, got {value!r}")
    for name in ("f_0", "f_1", "E_L0", "delta_EL", "F_2x", "dom_pref", "debt_interest", "utility_offset"):
        changes[name] = _as_float(getattr(params, name), name)
    for name, value in scalars.items():
        changes[name] = float(value)
    if int(params.n_steps) != params.n_steps or int(params.n_steps) < 1:
        raise ParamsError(f"n_steps must be a positive integer, got {params.n_steps!r}")
    changes["n_steps"] = int(params.n_steps)
    changes["start_year"] = int(params.start_year)
    return dataclasses.replace(params, **changes)


def default_params() -> RiceParams:
    """The shipped upstream calibration: 27 regions, 2015-2115 in 20 steps of 5 years."""
    return load_params()
