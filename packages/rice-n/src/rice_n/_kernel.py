"""The numpy fast path of :class:`rice_n.BatchRiceEnv`: the activity step and the observations.

It performs the same floating-point operations as :func:`rice_n.dynamics.activity_step` and
``BatchRiceEnv.observation_parts`` in the same order, so its results are equal to the last bit (the
test ``test_rice_kernel.py`` holds it to the reference). What makes it faster on small batches is fewer
numpy calls: the action-independent quantities (population, productivity, carbon intensity, mitigation
cost, welfare discount) are tabulated once per env, the per-region outputs of a step live in one
``(rows, B, N)`` array (written with ``out=``), and the observation is built from that array in a few
block operations.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rice_n.dynamics import Constants, Controls, Mode, RiceState, exogenous, exogenous_forcing, land_emissions

#: Per-region rows of the state array: the public observation features in their order, the private
#: features in theirs, then the rest.
PUBLIC = (
    "K",
    "capital_depreciation",
    "L",
    "gross_output",
    "investment",
    "consumption",
    "savings",
    "mitigation",
    "export_limit",
    "D",
)
PRIVATE = (
    "A",
    "sigma",
    "mitigation_cost",
    "damages",
    "abatement_cost",
    "production",
    "utility",
    "social_welfare",
    "reward",
)
OTHER = ("domestic_consumption", "exports", "imports", "emissions")
ROWS = PUBLIC + PRIVATE + OTHER
ROW = {name: i for i, name in enumerate(ROWS)}
#: Divisors of the observation features (x / 1.0 == x exactly); sigma is multiplied by 10 instead.
PUBLIC_DIV = np.array([1e4, 1.0, 1e4, 1e3, 1e3, 1e3, 1.0, 1.0, 1.0, 1e3])[:, None, None]
PRIVATE_DIV_LAST = np.array([100.0, 1.0, 1.0, 1.0, 1.0, 1e3, 1.0, 1.0, 1.0])
N_PUB, N_PRIV = len(PUBLIC), len(PRIVATE)
SIGMA = ROW["sigma"] - N_PUB
R_K, R_Q, R_INV, R_CONS, R_SAV, R_MIT, R_XL, R_D = (
    ROW[k]
    for k in ("K", "gross_output", "investment", "consumption", "savings", "mitigation", "export_limit", "D")
)
R_DAMAGES, R_ABATE, R_PROD, R_UTIL, R_SW, R_REWARD = (
    ROW[k] for k in ("damages", "abatement_cost", "production", "utility", "social_welfare", "reward")
)
TABULATED = tuple(ROW[k] for k in ("L", "A", "sigma", "capital_depreciation", "mitigation_cost"))
R_CDOM, R_EXPORTS, R_IMPORTS, R_EMIS = (ROW[k] for k in OTHER)


def _new_state(values: dict[str, Any]) -> RiceState:
    """A RiceState from a complete dict of its fields, without the frozen dataclass's per-field setattr."""
    state = object.__new__(RiceState)
    state.__dict__.update(values)
    return state


class NumpyKernel:
    """Activity steps and observations of B episodes on numpy, equal to the reference to the last bit.

    ``state`` is the last state the kernel made (or its reset state); the env uses the kernel only while
    its state is that object and falls back to the reference otherwise.
    """

    def __init__(
        self, consts: Constants, mode: Mode, batch: int, n_steps: int, cache_observations: bool = False
    ) -> None:
        self.c, self.mode, self.batch = consts, mode, batch
        #: keep the state's observation parts for the next call (worth it with negotiation stages)
        self.cache_observations = cache_observations
        self._obs_cache: tuple[RiceState, np.ndarray, np.ndarray] | None = None
        n = consts.n
        self.n = n
        self._ones = np.ones(n, dtype=np.float64)
        self._eye = np.eye(n)
        self._rows: np.ndarray | None = None
        # temporaries reused by every step (never part of a state): x, w, cs, y; w and cs adjacent
        tmp = np.empty((4, batch, n))
        self._tmp = (tmp[0], tmp[1], tmp[2], tmp[3])
        self._wcs, self._wcs_l = tmp[1:3], np.empty((2, batch, n))
        self._b, self._pw = np.empty((batch, n, n)), np.empty((batch, n, n))
        p0 = consts.params
        # scalars as 0-d float64 arrays (the same values; numpy takes them faster than Python floats)
        scalars = {
            "one": 1.0,
            "zero": 0.0,
            "minus_one": -1.0,
            "tiny": 1e-9,
            "debt_interest": p0.debt_interest,
            "debt_ratio_scale": p0.debt_ratio_scale,
            "dom_pref": p0.dom_pref,
            "utility_offset": p0.utility_offset,
            "delta": p0.delta,
            "M_AT_1750": p0.M_AT_1750,
            "F_2x": p0.F_2x,
            "for_pref": consts.for_pref_scalar if consts.for_pref_scalar is not None else 0.0,
        }
        self._k = {key: np.array(value, dtype=np.float64) for key, value in scalars.items()}
        self._damage = consts.damage_uniform or (consts.a_1, consts.a_2, consts.a_3)
        self.state: RiceState | None = None
        p = consts.params
        # row templates per activity step t (index t-1): the tabulated rows of the state after step t
        self._ex: list[dict[str, Any]] = []
        self._template: list[np.ndarray] = []
        L, A, sigma = consts.L_0, consts.A_0, consts.sigma_0
        for t in range(1, n_steps + 1):
            ex = exogenous(consts, mode, t, L, A, sigma)
            ex["f_ex"], ex["e_land"] = exogenous_forcing(p, t), land_emissions(p, t)
            ex["e_land_n"] = ex["e_land"] * consts.n
            ex["glob"] = np.zeros((2, batch)) + np.array([[ex["f_ex"]], [ex["e_land"]]])
            tmpl = np.zeros((len(ROWS), 1, n))
            tmpl[ROW["L"], 0] = ex["L"]
            tmpl[ROW["A"], 0] = ex["A"]
            tmpl[ROW["sigma"], 0] = ex["sigma"]
            tmpl[ROW["capital_depreciation"], 0] = np.zeros((1, n)) + consts.capital_factor
            tmpl[ROW["mitigation_cost"], 0] = ex["mitigation_cost"]
            self._ex.append(ex)
            self._template.append(tmpl)
            L, A, sigma = ex["L"], ex["A"], ex["sigma"]

    def reset(self, initial: RiceState) -> RiceState:
        """The reset state ``initial`` copied into the kernel's row layout (same values)."""
        rows = np.empty((len(ROWS), self.batch, self.n))
        for name, i in ROW.items():
            rows[i] = getattr(initial, name)
        values = dict(initial.__dict__)
        values.update(zip(ROWS, rows, strict=True))
        self._rows, self.state = rows, _new_state(values)
        return self.state

    def can_step(self, state: RiceState) -> bool:
        """True when ``state`` is the kernel's own and its next step is tabulated."""
        return state is self.state and state.t < len(self._ex)

    def step(self, s: RiceState, ctl: Controls) -> RiceState:
        """One activity step from the kernel's state ``s`` (see :func:`rice_n.dynamics.activity_step`)."""
        c, mode, k = self.c, self.mode, self._k
        mul, add, sub, div = np.multiply, np.add, np.subtract, np.divide
        t = s.t + 1
        ex = self._ex[t - 1]
        rows = np.empty((len(ROWS), self.batch, self.n))
        tmpl = self._template[t - 1]
        if self.batch == 1:  # one small copy; for large batches only the tabulated rows
            np.copyto(rows, tmpl)
        else:
            for i in TABULATED:
                np.copyto(rows[i], tmpl[i])
        r = [rows[i] for i in range(len(ROWS))]
        x, w, cs, y = self._tmp  # temporaries of this step (w, cs adjacent: one sqrt for both)
        # production (dynamics._production)
        t_at = s.T[..., 0:1]
        a_1, a_2, a_3 = self._damage
        if mode.damage_form == "inverse":
            omega = 1.0 / (1.0 + a_1 * t_at + a_2 * t_at**a_3)
        else:
            omega = 1.0 - a_1 * t_at - a_2 * t_at**a_3
        abatement = mul(ex["mitigation_cost"], ctl.mitigation**c.theta_2, out=r[R_ABATE])
        np.log(s.K, out=x)
        mul(c.gamma, x, out=x)
        add(x, ex["labor_term"], out=x)
        np.exp(x, out=x)
        production = mul(s.A, x, out=r[R_PROD])
        sub(k["one"], abatement, out=x)
        mul(omega, x, out=x)
        q = mul(x, production, out=r[R_Q])
        inv = mul(ctl.savings, q, out=r[R_INV])
        if c.damage_uniform is not None:
            add(omega, c.zeros_row, out=r[R_DAMAGES])
        else:
            np.copyto(r[R_DAMAGES], omega)
        # trade (dynamics._scales and _trade)
        b = mul(ctl.import_bids, c.offdiag, out=self._b)
        bid_sum = np.matmul(b, self._ones)
        # where(bid_sum > 1, 1 / max(bid_sum, 1), 1) in two calls: fmax maps NaN and sums <= 1 to 1
        row = div(k["one"], np.fmax(bid_sum, k["one"], out=bid_sum), out=bid_sum)
        debt = mul(k["debt_interest"], s.D)
        ratio = mul(k["debt_ratio_scale"], debt, out=y)
        div(ratio, c.K_0, out=ratio)
        # clip to [-1, 0]; only 1 + ratio is used, so clip's +0.0 for -0.0 makes no difference
        np.maximum(ratio, k["minus_one"], out=ratio)
        np.minimum(ratio, k["zero"], out=ratio)
        mul(q, row, out=w)
        add(k["one"], ratio, out=ratio)
        mul(w, ratio, out=w)
        col_sum = np.matmul(w[..., None, :], b)[..., 0, :]
        cap = np.minimum(mul(ctl.export_limit, q, out=x), sub(q, inv, out=y), out=x)
        safe = np.where(col_sum > k["zero"], col_sum, k["one"])
        np.copyto(cs, np.where(col_sum > cap, div(cap, safe, out=safe), k["one"]))
        exports = mul(col_sum, cs, out=r[R_EXPORTS])
        imports = mul(w, np.matmul(b, cs[..., None])[..., 0], out=r[R_IMPORTS])
        tau = s.tariffs if mode.tariff_lag else ctl.tariffs
        lam = c.params.sub_rate
        if lam == 0.5:
            pw = sub(k["one"], tau, out=self._pw)
            mul(pw, b, out=pw)
            np.sqrt(pw, out=pw)
            wcs_l = np.sqrt(self._wcs, out=self._wcs_l)
            w_l, cs_l = wcs_l[0], wcs_l[1]
        else:
            pw, w_l, cs_l = (b * (1.0 - tau)) ** lam, w**lam, cs**lam
        if c.for_pref_scalar is not None:
            foreign = mul(k["for_pref"], w_l, out=w_l)
            mul(foreign, np.matmul(pw, cs_l[..., None])[..., 0], out=foreign)
        else:
            foreign = mul(w_l, np.matmul(pw * c.for_pref, cs_l[..., None])[..., 0], out=w_l)
        # consumption, utility, welfare, balance (dynamics.activity_step)
        sub(q, inv, out=x)
        sub(x, exports, out=x)
        c_dom = np.maximum(x, k["zero"], out=r[R_CDOM])
        c_dom_l = np.sqrt(c_dom, out=y) if lam == 0.5 else c_dom**lam
        agg = mul(k["dom_pref"], c_dom_l, out=c_dom_l)
        add(agg, foreign, out=agg)
        out = r[R_CONS]
        consumption = mul(agg, agg, out=out) if lam == 0.5 else np.power(agg, 1.0 / lam, out=out)
        pop = ex["pop"]
        div(consumption, pop, out=x)
        if mode.utility_with_offset:
            add(x, k["utility_offset"], out=x)
        else:
            np.maximum(x, k["tiny"], out=x)
        np.log(x, out=x)
        mul(c.one_minus_alpha, x, out=x)
        np.exp(x, out=x)
        sub(x, k["one"], out=x)
        mul(pop, x, out=x)
        utility = div(x, c.one_minus_alpha, out=r[R_UTIL])
        div(utility, ex["welfare_discount"], out=r[R_SW])
        np.copyto(r[R_REWARD], utility)
        sub(exports, imports, out=x)
        mul(k["delta"], x, out=x)
        add(debt, x, out=r[R_D])
        # climate
        forcing = div(s.M[..., 0], k["M_AT_1750"])
        np.log2(forcing, out=forcing)
        mul(k["F_2x"], forcing, out=forcing)
        add(forcing, ex["f_ex"], out=forcing)
        temperature = s.T @ c.phi_T_t
        add(temperature, mul(c.b_T, forcing[..., None]), out=temperature)
        sub(k["one"], ctl.mitigation, out=x)
        mul(s.sigma, x, out=x)
        emissions = mul(x, production, out=r[R_EMIS])
        if mode.emissions_with_tfp:
            mul(emissions, s.A, out=emissions)
        total = np.add.reduce(emissions, -1)
        add(total, ex["e_land_n"], out=total)
        carbon = s.M @ c.phi_M_t
        add(carbon, mul(c.b_M, total[..., None]), out=carbon)
        mul(c.capital_factor, s.K, out=x)
        add(x, mul(k["delta"], inv, out=y), out=r[R_K])
        np.copyto(r[R_SAV], ctl.savings)
        np.copyto(r[R_MIT], ctl.mitigation)
        np.copyto(r[R_XL], ctl.export_limit)
        glob = ex["glob"].copy()
        values = dict(zip(ROWS, r, strict=True))
        values.update(t=t, T=temperature, M=carbon, tariffs=ctl.tariffs, F_EX=glob[0], E_land=glob[1])
        self._rows, self.state = rows, _new_state(values)
        return self.state

    def observations(
        self, timestep: int, zero_reward: bool, extra: tuple[Any, Any] | None, out: np.ndarray
    ) -> np.ndarray:
        """Fill ``out`` (B, N, F) with the observation of the kernel's state (see ``observation_parts``)."""
        s, rows, b, n = self.state, self._rows, self.batch, self.n
        assert s is not None and rows is not None
        g_extra = 0 if extra is None else extra[0].shape[-1]
        gd = 8 + g_extra
        g = n + gd + N_PUB * n + n * n
        # the shared features are computed once in float64 and copied to every region's row (rounded to the
        # observation dtype, as the reference's cast); one episode writes them into region 0's row directly
        shared = out[:, 0, n:g] if b == 1 else np.empty((b, g - n))
        cached = self._obs_cache is not None and self._obs_cache[0] is s
        if cached:  # a negotiation step: the state, so all but the step's own features, is unchanged
            assert self._obs_cache is not None
            _, shared_prev, priv = self._obs_cache
            shared[...] = shared_prev
        else:
            np.divide(s.T, 10.0, out=shared[:, 0:2])
            np.divide(s.M, 1e4, out=shared[:, 2:5])
            shared[:, 5] = s.F_EX
            shared[:, 6] = s.E_land
            pub = shared[:, gd : gd + N_PUB * n].reshape(b, N_PUB, n).transpose(1, 0, 2)
            np.divide(rows[:N_PUB], PUBLIC_DIV, out=pub)
            np.divide(s.tariffs, 100.0, out=shared[:, gd + N_PUB * n :].reshape(b, n, n))
            priv = np.divide(rows[N_PUB : N_PUB + N_PRIV].transpose(1, 2, 0), PRIVATE_DIV_LAST)  # (B, N, 9)
            np.multiply(rows[N_PUB + SIGMA], 10.0, out=priv[..., SIGMA])
            if self.cache_observations:
                self._obs_cache = (s, shared.copy(), priv)
        shared[:, 7] = timestep / 100.0
        if extra is not None:
            shared[:, 8:gd] = extra[0]
        out[:, 1 if b == 1 else 0 :, n:g] = shared[:, None, :]
        out[..., :n] = self._eye
        out[..., g : g + N_PRIV] = priv
        if zero_reward:
            out[..., g + N_PRIV - 1] = 0.0
        if extra is not None:
            out[..., g + N_PRIV :] = extra[1]
        return out
