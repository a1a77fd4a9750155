"""The RICE-N climate-economy dynamics: one batched activity step, pure (no state is mutated).

Every array has a leading batch axis ``B`` (independent episodes); per-region arrays are ``(B, N)``, trade
matrices ``(B, N, N)`` with ``[i, j]`` = region i's bid/tariff on region j. The same code runs on numpy and
torch through a tiny array namespace (``rice_n._backend``). Equations follow section 2 of the facts file
(upstream ``rice.py`` / ``rice_helpers.py``); :class:`Mode` switches the places where the paper and the
code disagree.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from rice_n._backend import NumpyOps, TorchOps
from rice_n.params import REGION_KEYS, RiceParams

Array = Any  # numpy.ndarray or torch.Tensor


@dataclass(frozen=True)
class Mode:
    """Which equations to use where upstream's code and the paper differ.

    ``Mode.upstream()`` (the default everywhere) reproduces upstream numbers, quirks included;
    ``Mode.paper()`` uses the White Paper's equations. Each switch can be set on its own.
    """

    name: str = "upstream"
    #: Upstream reads action slots 3..3+N-1 as tariffs and 3+N..3+2N-1 as import bids (the opposite of the
    #: labels of its own ``actions_nvec``). False: imports first, then tariffs, as labelled.
    swap_trade_slots: bool = True
    #: Upstream applies the tariffs chosen at the previous activity step. False: this step's tariffs.
    tariff_lag: bool = True
    #: ``"inverse"``: Omega = 1/(1 + a1 T + a2 T^a3) (code); ``"polynomial"``: 1 - a1 T - a2 T^a3 (paper).
    damage_form: str = "inverse"
    #: Production uses L/1000 (code; also ``Mode.paper()``) or L (the paper's formula taken literally:
    #: with the shipped calibration, L in millions, output is ~125x larger and the run diverges).
    labor_in_thousands: bool = True
    #: Industrial emissions sigma (1-mu) Y (code) or sigma (1-mu) A Y (paper, eq. 21).
    emissions_with_tfp: bool = False
    #: Utility adds ``params.utility_offset`` (upstream _SMALL_NUM = 1) to consumption per capita (code);
    #: the paper has no offset (consumption per capita is then floored at 1e-9 to keep U finite).
    utility_with_offset: bool = True

    def __post_init__(self) -> None:
        if self.damage_form not in ("inverse", "polynomial"):
            raise ValueError(f"damage_form must be 'inverse' or 'polynomial', got {self.damage_form!r}")

    @classmethod
    def upstream(cls) -> Mode:
        """Upstream's code (mila-iqia/climate-cooperation-competition main), quirks included."""
        return cls()

    @classmethod
    def paper(cls) -> Mode:
        """The White Paper's equations (arXiv 2208.07004) where they differ from the code."""
        return cls(
            name="paper",
            swap_trade_slots=False,
            tariff_lag=False,
            damage_form="polynomial",
            labor_in_thousands=True,  # a unit convention; Mode(labor_in_thousands=False) is literal
            emissions_with_tfp=True,
            utility_with_offset=False,
        )


def resolve_mode(mode: str | Mode) -> Mode:
    """A :class:`Mode` from ``"upstream"``, ``"paper"`` or a Mode instance."""
    if isinstance(mode, Mode):
        return mode
    if mode == "upstream":
        return Mode.upstream()
    if mode == "paper":
        return Mode.paper()
    raise ValueError(f"unknown mode {mode!r}; use 'upstream' or 'paper' (or a rice_n.Mode)")


@dataclass(frozen=True)
class Controls:
    """The activity actions of every region as fractions in [0, 1].

    ``savings``, ``mitigation``, ``export_limit``: ``(B, N)``; ``import_bids``, ``tariffs``: ``(B, N, N)``
    with ``[i, j]`` = region i's import bid on / tariff against region j (the diagonal is ignored).
    """

    savings: Array
    mitigation: Array
    export_limit: Array
    import_bids: Array
    tariffs: Array

    def replace(self, **changes: Array) -> Controls:
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True)
class RiceState:
    """The full state of B episodes after ``t`` activity steps, with the outputs of the last step.

    Output fields (gross output, consumption, reward, ...) are 0 at reset, as upstream.
    """

    t: int
    T: Array  # (B, 2) temperature [T_AT, T_LO]
    M: Array  # (B, 3) carbon mass [M_AT, M_UP, M_LO]
    K: Array  # (B, N) capital
    L: Array  # (B, N) labour (population)
    A: Array  # (B, N) total factor productivity
    sigma: Array  # (B, N) carbon intensity
    D: Array  # (B, N) trade balance (debt when negative)
    tariffs: Array  # (B, N, N) tariffs chosen at the last activity step
    F_EX: Array  # (B,) exogenous forcing of the last step
    E_land: Array  # (B,) land emissions per region of the last step
    gross_output: Array  # (B, N) Q
    investment: Array  # (B, N) I
    consumption: Array  # (B, N) Armington aggregate C
    domestic_consumption: Array  # (B, N)
    production: Array  # (B, N) Y
    damages: Array  # (B, N) damage factor Omega
    abatement_cost: Array  # (B, N) Lambda
    mitigation_cost: Array  # (B, N) theta_1
    utility: Array  # (B, N)
    social_welfare: Array  # (B, N)
    reward: Array  # (B, N)
    savings: Array  # (B, N)
    mitigation: Array  # (B, N)
    export_limit: Array  # (B, N)
    capital_depreciation: Array  # (B, N)
    exports: Array  # (B, N) sum over partners, before tariffs
    imports: Array  # (B, N) sum over partners, before tariffs
    emissions: Array  # (B, N) industrial emissions of the last step

    @property
    def batch_size(self) -> int:
        """Number of episodes B."""
        return int(self.K.shape[0])

    def replace(self, **changes: Any) -> RiceState:
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)


class Constants:
    """The parameters as arrays of one backend, shaped to broadcast against ``(B, N)``."""

    # set from the params in __init__ (arrays of the backend)
    A_0: Array
    K_0: Array
    L_0: Array
    L_a: Array
    a_1: Array
    a_2: Array
    a_3: Array
    delta_A: Array
    g_A: Array
    gamma: Array
    l_g: Array
    sigma_0: Array
    theta_2: Array
    delta_K: Array
    alpha: Array
    rho: Array
    g_sigma: Array
    delta_sigma: Array
    p_b: Array
    delta_pb: Array

    def __init__(self, params: RiceParams, ops: NumpyOps | TorchOps) -> None:
        self.params = params
        self.ops = ops
        n = params.n_regions
        self.n = n
        for name in (
            *REGION_KEYS,
            "theta_2",
            "delta_K",
            "alpha",
            "rho",
            "g_sigma",
            "delta_sigma",
            "p_b",
            "delta_pb",
        ):
            setattr(self, name, ops.asarray(getattr(params, name)))
        self.phi_T_t = ops.asarray(params.phi_T.T.copy())
        self.phi_M_t = ops.asarray(params.phi_M.T.copy())
        self.b_T = ops.asarray(params.b_T)
        self.b_M = ops.asarray(params.b_M)
        off = np.ones((n, n)) - np.eye(n)
        self.offdiag = ops.asarray(off)
        fp = params.for_pref * off
        vals = fp[off.astype(bool)]
        self.for_pref_scalar: float | None = float(vals[0]) if np.all(vals == vals[0]) else None
        self.for_pref = ops.asarray(fp)
        self.capital_factor = ops.asarray((1.0 - params.delta_K) ** params.delta)
        self.cost_scale = ops.asarray(params.p_b / (1000.0 * params.theta_2))
        self.one_minus_alpha = ops.asarray(1.0 - params.alpha)
        self.one_minus_gamma = ops.asarray(1.0 - params.gamma)
        self.zeros_row = ops.zeros((n,))
        uniform = all(np.all(v == v[0]) for v in (params.a_1, params.a_2, params.a_3))
        self.damage_uniform: tuple[float, float, float] | None = (
            (float(params.a_1[0]), float(params.a_2[0]), float(params.a_3[0])) if uniform else None
        )


def initial_state(c: Constants, batch: int) -> RiceState:
    """The reset state of ``batch`` episodes (t = 0)."""
    ops, p, n = c.ops, c.params, c.n

    def per_region(x: Array) -> Array:
        return ops.zeros((batch, n)) + x

    zeros = ops.zeros((batch, n))
    return RiceState(
        t=0,
        T=ops.zeros((batch, 2)) + ops.asarray(p.T_0),
        M=ops.zeros((batch, 3)) + ops.asarray(p.M_0),
        K=per_region(c.K_0),
        L=per_region(c.L_0),
        A=per_region(c.A_0),
        sigma=per_region(c.sigma_0),
        D=zeros,
        tariffs=ops.zeros((batch, n, n)),
        F_EX=ops.zeros((batch,)),
        E_land=ops.zeros((batch,)),
        gross_output=zeros,
        investment=zeros,
        consumption=zeros,
        domestic_consumption=zeros,
        production=zeros,
        damages=zeros,
        abatement_cost=zeros,
        mitigation_cost=zeros,
        utility=zeros,
        social_welfare=zeros,
        reward=zeros,
        savings=zeros,
        mitigation=zeros,
        export_limit=zeros,
        capital_depreciation=zeros,
        exports=zeros,
        imports=zeros,
        emissions=zeros,
    )


def exogenous_forcing(p: RiceParams, t: int) -> float:
    """F_EX at activity step t (1-based): f0 + min(f1 - f0, (f1 - f0)/t_f * (t - 1))."""
    return p.f_0 + min(p.f_1 - p.f_0, (p.f_1 - p.f_0) / p.t_f * (t - 1))


def land_emissions(p: RiceParams, t: int) -> float:
    """Land-use emissions per region at activity step t: E_L0 (1 - delta_EL)^(t-1) / N."""
    return p.E_L0 * (1.0 - p.delta_EL) ** (t - 1) / p.n_regions


def exogenous(c: Constants, mode: Mode, t: int, L: Array, A: Array, sigma: Array) -> dict[str, Array]:
    """The action-independent quantities of activity step ``t`` (1-based) from the previous L, A, sigma.

    ``mitigation_cost`` theta_1, ``labor_term`` (1 - gamma) log(labor), ``pop`` (L / 1000), the welfare
    discount ``(1 + rho)^(delta t)`` and the next ``L``, ``A``, ``sigma``. They depend on t alone (from the
    reset state), so the numpy kernel tabulates them once per env.
    """
    ops, p = c.ops, c.params
    labor = L / 1000.0 if mode.labor_in_thousands else L
    return {
        "mitigation_cost": c.cost_scale * (1.0 - c.delta_pb) ** (t - 1) * sigma,
        "labor_term": c.one_minus_gamma * ops.log(labor),
        "pop": L / 1000.0,
        "welfare_discount": (1.0 + c.rho) ** (p.delta * t),
        "L": L * ops.exp(c.l_g * ops.log((1.0 + c.L_a) / (1.0 + L))),
        "A": A * (math.exp(p.tfp_base_growth) + c.g_A * ops.exp(-c.delta_A * p.delta * (t - 1))),
        "sigma": sigma * ops.exp(-c.g_sigma * (1.0 - c.delta_sigma) ** (p.delta * (t - 1)) * p.delta),
    }


def _scales(
    c: Constants, mode: Mode, s: RiceState, ctl: Controls, gross_output: Array, investment: Array
) -> tuple[Array, Array, Array, Array, Array]:
    """Trade steps (a)-(c): bids ``b`` (diagonal zeroed), row weights ``w`` and column scales ``cs``.

    The imports of i from j are ``X_ij = b_ij * w_i * cs_j``. Also returns the debt-scaled balance.
    """
    ops = c.ops
    b = ops.offdiag(ctl.import_bids, c.offdiag, "bids")  # a temporary: never stored in the state
    bid_sum = ops.rowsum(b)
    # (a) rows whose bids exceed gross output are scaled to sum to it: sum_j b_ij Q_i > Q_i <=> sum b > 1.
    row = ops.where(bid_sum > 1.0, 1.0 / ops.maximum(bid_sum, 1.0), 1.0)
    # (b) debt: 10% interest per step, debt ratio clipped to [-1, 0] scales the bids.
    debt = c.params.debt_interest * s.D
    ratio = ops.clip(c.params.debt_ratio_scale * debt / c.K_0, -1.0, 0.0)
    w = gross_output * row * (1.0 + ratio)
    # (c) export cap: column j scaled down to min(x_max_j Q_j, Q_j - I_j).
    col_sum = ops.vecmat(w, b)
    cap = ops.minimum(ctl.export_limit * gross_output, gross_output - investment)
    safe = ops.where(col_sum > 0.0, col_sum, 1.0)
    cs = ops.where(col_sum > cap, cap / safe, 1.0)
    return b, w, cs, debt, col_sum


def trade_flows(c: Constants, mode: Mode, s: RiceState, ctl: Controls) -> dict[str, Array]:
    """The materialized trade matrices of the next activity step (for checks and analysis).

    Returns ``imports`` X (B, N, N) after row, debt and export-cap scaling, and ``net_imports``
    X (1 - tau) after tariffs, both with ``[i, j]`` = what region i gets from region j.
    """
    pre = _production(c, mode, s, ctl)
    b, w, cs, _, _ = _scales(c, mode, s, ctl, pre["gross_output"], pre["investment"])
    x = b * w[..., :, None] * cs[..., None, :]
    tau = s.tariffs if mode.tariff_lag else ctl.tariffs
    return {"imports": x, "net_imports": x * (1.0 - tau)}


def _production(
    c: Constants, mode: Mode, s: RiceState, ctl: Controls, ex: dict[str, Array] | None = None
) -> dict[str, Array]:
    """Steps 1-5: mitigation cost, damages, abatement cost, production, gross output, investment."""
    ops = c.ops
    ex = exogenous(c, mode, s.t + 1, s.L, s.A, s.sigma) if ex is None else ex
    theta1 = ex["mitigation_cost"]
    t_at = s.T[..., 0:1]
    # with the same a1, a2, a3 in every region (the shipped data) Omega is computed once per episode
    a_1, a_2, a_3 = c.damage_uniform or (c.a_1, c.a_2, c.a_3)
    if mode.damage_form == "inverse":
        omega = 1.0 / (1.0 + a_1 * t_at + a_2 * t_at**a_3)
    else:
        omega = 1.0 - a_1 * t_at - a_2 * t_at**a_3
    abatement = theta1 * ctl.mitigation**c.theta_2
    # A K^gamma L^(1-gamma) through exp/log (K, L > 0): vectorized, unlike pow with array exponents
    production = s.A * ops.exp(c.gamma * ops.log(s.K) + ex["labor_term"])
    gross_output = omega * (1.0 - abatement) * production
    investment = ctl.savings * gross_output
    if c.damage_uniform is not None:
        omega = omega + c.zeros_row  # (B, 1) -> (B, N)
    return {
        "mitigation_cost": theta1,
        "damages": omega,
        "abatement_cost": abatement,
        "production": production,
        "gross_output": gross_output,
        "investment": investment,
    }


def _trade(
    c: Constants, mode: Mode, s: RiceState, ctl: Controls, q: Array, inv: Array
) -> tuple[Array, Array, Array, Array]:
    """Exports, imports (before tariffs), the Armington foreign term and the debt-scaled balance."""
    ops, p = c.ops, c.params
    b, w, cs, debt, col_sum = _scales(c, mode, s, ctl, q, inv)
    exports = col_sum * cs
    imports = w * ops.matvec(b, cs)
    # (d) tariffs and Armington aggregate: sum_j psi_ij (X_ij (1 - tau_ij))^lam.
    tau = s.tariffs if mode.tariff_lag else ctl.tariffs
    lam = p.sub_rate
    if lam == 0.5:
        pw, w_l, cs_l = ops.scratch_sqrt_keep_mul(tau, b, "net"), ops.sqrt(w), ops.sqrt(cs)
    else:
        pw, w_l, cs_l = (b * (1.0 - tau)) ** lam, w**lam, cs**lam
    if c.for_pref_scalar is not None:
        foreign = c.for_pref_scalar * w_l * ops.matvec(pw, cs_l)
    else:
        foreign = w_l * ops.matvec(pw * c.for_pref, cs_l)
    return exports, imports, foreign, debt


def activity_step(c: Constants, mode: Mode, s: RiceState, ctl: Controls) -> RiceState:
    """One activity step (5 years) of B episodes: returns the new state; ``s`` is not changed.

    The trade matrices are never materialized: with ``X_ij = b_ij w_i cs_j`` every sum and the
    Armington aggregate reduce to batched matrix-vector products.
    """
    ops, p = c.ops, c.params
    t = s.t + 1
    ex = exogenous(c, mode, t, s.L, s.A, s.sigma)
    pre = _production(c, mode, s, ctl, ex)
    q, inv = pre["gross_output"], pre["investment"]
    exports, imports, foreign, debt = _trade(c, mode, s, ctl, q, inv)
    lam = p.sub_rate
    c_dom = ops.maximum(q - inv - exports, 0.0)
    c_dom_l = ops.sqrt(c_dom) if lam == 0.5 else c_dom**lam
    agg = p.dom_pref * c_dom_l + foreign
    consumption = agg * agg if lam == 0.5 else agg ** (1.0 / lam)
    # Utility (reward) and social welfare.
    pop = ex["pop"]
    if mode.utility_with_offset:
        per_capita = consumption / pop + p.utility_offset
    else:
        per_capita = ops.maximum(consumption / pop, 1e-9)
    utility = pop * (ops.exp(c.one_minus_alpha * ops.log(per_capita)) - 1.0) / c.one_minus_alpha
    social_welfare = utility / ex["welfare_discount"]
    balance = debt + p.delta * (exports - imports)
    # Climate.
    f_ex = exogenous_forcing(p, t)
    e_land = land_emissions(p, t)
    forcing = p.F_2x * ops.log2(s.M[..., 0] / p.M_AT_1750) + f_ex
    temperature = s.T @ c.phi_T_t + c.b_T * forcing[..., None]
    emissions = s.sigma * (1.0 - ctl.mitigation) * pre["production"]
    if mode.emissions_with_tfp:
        emissions = emissions * s.A
    total = emissions.sum(-1) + e_land * c.n
    carbon = s.M @ c.phi_M_t + c.b_M * total[..., None]
    # State updates.
    capital = c.capital_factor * s.K + p.delta * inv
    batch = q.shape[0]
    return RiceState(
        t=t,
        T=temperature,
        M=carbon,
        K=capital,
        L=ex["L"],
        A=ex["A"],
        sigma=ex["sigma"],
        D=balance,
        tariffs=ctl.tariffs,
        F_EX=ops.zeros((batch,)) + f_ex,
        E_land=ops.zeros((batch,)) + e_land,
        gross_output=q,
        investment=inv,
        consumption=consumption,
        domestic_consumption=c_dom,
        production=pre["production"],
        damages=pre["damages"],
        abatement_cost=pre["abatement_cost"],
        mitigation_cost=pre["mitigation_cost"],
        utility=utility,
        social_welfare=social_welfare,
        reward=utility,
        savings=ctl.savings,
        mitigation=ctl.mitigation,
        export_limit=ctl.export_limit,
        capital_depreciation=ops.zeros((batch, c.n)) + c.capital_factor,
        exports=exports,
        imports=imports,
        emissions=emissions,
    )
