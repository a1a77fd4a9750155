"""The numpy fast path of :class:`rice_n.BatchRiceEnv`: the activity step and the observations.

It performs the same floating-point operations as :func:`rice_n.dynamics.activity_step` and
``BatchRiceEnv.observation_parts`` in the same order, so its results are equal to the last bit (the
test ``test_rice_kernel.py`` holds it to the reference). What makes it faster on small batches is fewer
numpy calls and less Python per call: the action-independent quantities (population, productivity,
carbon intensity, mitigation cost, welfare discount) are tabulated once per env, the per-region outputs
of a step live in one ``(rows, B, N)`` array (written with positional ``out`` arguments), the state's
per-region fields are views of it made only when read (:class:`RowState`), and the observation is built
from that array in a few block operations.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rice_n.dynamics import (
    Constants,
    Controls,
    Mode,
    RiceState,
    exogenous,
    exogenous_forcing,
    initial_state,
    land_emissions,
)

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
R_K, R_A, R_SIGMA, R_Q, R_INV, R_CONS, R_SAV, R_MIT, R_XL, R_D = (
    ROW[k]
    for k in (
        "K",
        "A",
        "sigma",
        "gross_output",
        "investment",
        "consumption",
        "savings",
        "mitigation",
        "export_limit",
        "D",
    )
)
R_DAMAGES, R_ABATE, R_PROD, R_UTIL, R_SW, R_REWARD = (
    ROW[k] for k in ("damages", "abatement_cost", "production", "utility", "social_welfare", "reward")
)
TABULATED = tuple(ROW[k] for k in ("L", "A", "sigma", "capital_depreciation", "mitigation_cost"))
R_CDOM, R_EXPORTS, R_IMPORTS, R_EMIS = (ROW[k] for k in OTHER)
#: Fields of a :class:`RowState` kept in its ``_glob`` (2, B) array.
GLOB = {"F_EX": 0, "E_land": 1}


class RowState(RiceState):
    """A :class:`RiceState` whose per-region fields are views of one ``(rows, B, N)`` array (``_rows``)
    and ``F_EX``, ``E_land`` copies of the rows of a ``(2, B)`` table (``_glob``, shared, never written),
    each made when first read.

    It behaves as a RiceState (same fields and values, ``replace``, ``dataclasses.fields``); making 30
    views per step would cost more than the arithmetic of a small batch.
    """

    def __getattr__(self, name: str) -> Any:
        d = self.__dict__
        i = ROW.get(name)
        if i is not None and "_rows" in d:
            view = d[name] = d["_rows"][i]
            return view
        j = GLOB.get(name)
        if j is not None and "_glob" in d:  # a shared table row: the field is a copy of it
            field = d[name] = d["_glob"][j].copy()
            return field
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")


def _row_state(values: dict[str, Any]) -> RowState:
    """A RowState from ``t``, ``T``, ``M``, ``tariffs``, ``_rows`` and ``_glob``, without per-field setattr."""
    state = object.__new__(RowState)
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
        self._eye_as: dict[np.dtype, np.ndarray] = {}
        self._rows: np.ndarray | None = None
        self._glob: np.ndarray | None = None
        # temporaries reused by every step (never part of a state): x, w, cs, y, z; w and cs adjacent
        tmp = np.empty((5, batch, n))
        self._tmp = (tmp[0], tmp[1], tmp[2], tmp[3], tmp[4])
        self._wcs, self._wcs_l = tmp[1:3], np.empty((2, batch, n))
        self._b, self._pw = np.empty((batch, n, n)), np.empty((batch, n, n))
        omega = np.empty((2, batch, 1))
        self._omega = (omega[0], omega[1])
        masks = np.empty((2, batch, n), dtype=bool)
        self._masks = (masks[0], masks[1])
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
        self._omega_scalar: tuple[float, float] | None = None
        if consts.damage_uniform is not None:
            self._a12 = (np.array(consts.damage_uniform[0]), np.array(consts.damage_uniform[1]))
            if batch == 1 and consts.damage_uniform[2] == 2.0:
                self._omega_scalar = consts.damage_uniform[0], consts.damage_uniform[1]
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
        self._initial: RowState | None = None

    def reset(self) -> RiceState:
        """A fresh reset state in the kernel's row layout (:func:`rice_n.dynamics.initial_state`'s values,
        made once and copied after)."""
        if self._initial is None:
            initial = initial_state(self.c, self.batch)
            rows = np.empty((len(ROWS), self.batch, self.n))
            for name, i in ROW.items():
                rows[i] = getattr(initial, name)
            glob = np.stack([initial.F_EX, initial.E_land])
            values = {"t": 0, "T": initial.T, "M": initial.M, "tariffs": initial.tariffs}
            self._initial = _row_state({**values, "_rows": rows, "_glob": glob})
        d = self._initial.__dict__
        rows, glob = d["_rows"].copy(), d["_glob"]
        values = {"t": 0, "T": d["T"].copy(), "M": d["M"].copy(), "tariffs": d["tariffs"].copy()}
        self._rows, self._glob = rows, glob
        self.state = _row_state({**values, "_rows": rows, "_glob": glob})
        return self.state

    def can_step(self, state: RiceState) -> bool:
        """True when ``state`` is the kernel's own and its next step is tabulated."""
        return state is self.state and state.t < len(self._ex)

    def step(self, s: RiceState, ctl: Controls) -> RiceState:
        """One activity step from the kernel's state ``s`` (see :func:`rice_n.dynamics.activity_step`)."""
        c, mode, k = self.c, self.mode, self._k
        mul, add, sub, div, matmul = np.multiply, np.add, np.subtract, np.divide, np.matmul
        one, zero = k["one"], k["zero"]
        t = s.t + 1
        ex = self._ex[t - 1]
        prev = self._rows
        assert prev is not None
        s_K, s_A, s_D = prev[R_K], prev[R_A], prev[R_D]
        tmpl = self._template[t - 1]
        if self.batch == 1:  # one small copy; for large batches only the tabulated rows
            rows = tmpl.copy()
        else:
            rows = np.empty((len(ROWS), self.batch, self.n))
            for i in TABULATED:
                np.copyto(rows[i], tmpl[i])
        x, w, cs, y, z = self._tmp  # temporaries of this step (w, cs adjacent: one sqrt for both)
        mit, sav = ctl.mitigation, ctl.savings
        # production (dynamics._production)
        t_at = s.T[..., 0:1]
        omega: Any
        if self._omega_scalar is not None:  # one episode, a_3 = 2: the reference's operations on floats
            # t ** 2.0 on an array is numpy's square (t * t); + - * / of floats are IEEE's, as numpy's
            a_1f, a_2f = self._omega_scalar
            temp = float(t_at[0, 0])
            if mode.damage_form == "inverse":
                denom = 1.0 + a_1f * temp + a_2f * (temp * temp)
                omega = 1.0 / denom if denom != 0.0 else 1.0 / (1.0 + a_1f * t_at + a_2f * t_at**2.0)
            else:
                omega = 1.0 - a_1f * temp - a_2f * (temp * temp)
        elif c.damage_uniform is not None:  # per episode (B, 1): the reference's operations, into scratch
            a_1, a_2 = self._a12
            pw_, omega = self._omega
            p3 = t_at ** c.damage_uniform[2]
            mul(a_2, p3, pw_)
            mul(a_1, t_at, omega)
            if mode.damage_form == "inverse":
                add(one, omega, omega)
                add(omega, pw_, omega)
                div(one, omega, omega)
            else:
                sub(one, omega, omega)
                sub(omega, pw_, omega)
        else:
            d_1, d_2, d_3 = self._damage
            if mode.damage_form == "inverse":
                omega = 1.0 / (1.0 + d_1 * t_at + d_2 * t_at**d_3)
            else:
                omega = 1.0 - d_1 * t_at - d_2 * t_at**d_3
        abatement = rows[R_ABATE]
        if np.ndim(c.theta_2):
            np.power(mit, c.theta_2, abatement)
        else:
            np.copyto(abatement, mit**c.theta_2)
        mul(ex["mitigation_cost"], abatement, abatement)
        np.log(s_K, x)
        mul(c.gamma, x, x)
        add(x, ex["labor_term"], x)
        np.exp(x, x)
        production = mul(s_A, x, rows[R_PROD])
        sub(one, abatement, x)
        mul(omega, x, x)
        q = mul(x, production, rows[R_Q])
        inv = mul(sav, q, rows[R_INV])
        if c.damage_uniform is not None:
            add(omega, c.zeros_row, rows[R_DAMAGES])
        else:
            np.copyto(rows[R_DAMAGES], omega)
        # trade (dynamics._scales and _trade)
        b = mul(ctl.import_bids, c.offdiag, self._b)
        bid_sum = matmul(b, self._ones)
        # where(bid_sum > 1, 1 / max(bid_sum, 1), 1) in two calls: fmax maps NaN and sums <= 1 to 1
        row = div(one, np.fmax(bid_sum, one, out=bid_sum), bid_sum)
        debt = mul(k["debt_interest"], s_D, z)
        ratio = mul(k["debt_ratio_scale"], debt, y)
        div(ratio, c.K_0, ratio)
        # clip to [-1, 0]; only 1 + ratio is used, so clip's +0.0 for -0.0 makes no difference
        np.maximum(ratio, k["minus_one"], out=ratio)
        np.minimum(ratio, zero, out=ratio)
        mul(q, row, w)
        add(one, ratio, ratio)
        mul(w, ratio, w)
        col_sum = matmul(w[..., None, :], b)[..., 0, :]
        cap = np.minimum(mul(ctl.export_limit, q, x), sub(q, inv, y), out=x)
        # cs = where(col_sum > cap, cap / where(col_sum > 0, col_sum, 1), 1), without the temporaries:
        # cap / safe is cap where col_sum <= 0 (x / 1.0 == x), cap / col_sum elsewhere
        above, positive = self._masks
        np.greater(col_sum, cap, above)
        np.greater(col_sum, zero, positive)
        div(cap, col_sum, cap, where=positive)  # x: cap / safe
        np.copyto(cs, one)
        np.copyto(cs, x, where=above)
        exports = mul(col_sum, cs, rows[R_EXPORTS])
        imports = mul(w, matmul(b, cs[..., None])[..., 0], rows[R_IMPORTS])
        tau = s.tariffs if mode.tariff_lag else ctl.tariffs
        lam = c.params.sub_rate
        if lam == 0.5:
            pw = sub(one, tau, self._pw)
            mul(pw, b, pw)
            np.sqrt(pw, pw)
            wcs_l = np.sqrt(self._wcs, self._wcs_l)
            w_l, cs_l = wcs_l[0], wcs_l[1]
        else:
            pw, w_l, cs_l = (b * (1.0 - tau)) ** lam, w**lam, cs**lam
        if c.for_pref_scalar is not None:
            foreign = mul(k["for_pref"], w_l, w_l)
            mul(foreign, matmul(pw, cs_l[..., None])[..., 0], foreign)
        else:
            foreign = mul(w_l, matmul(pw * c.for_pref, cs_l[..., None])[..., 0], w_l)
        # consumption, utility, welfare, balance (dynamics.activity_step)
        sub(q, inv, x)
        sub(x, exports, x)
        c_dom = np.maximum(x, zero, out=rows[R_CDOM])
        c_dom_l = np.sqrt(c_dom, y) if lam == 0.5 else c_dom**lam
        agg = mul(k["dom_pref"], c_dom_l, c_dom_l)
        add(agg, foreign, agg)
        out = rows[R_CONS]
        consumption = mul(agg, agg, out) if lam == 0.5 else np.power(agg, 1.0 / lam, out)
        pop = ex["pop"]
        div(consumption, pop, x)
        if mode.utility_with_offset:
            add(x, k["utility_offset"], x)
        else:
            np.maximum(x, k["tiny"], out=x)
        np.log(x, x)
        mul(c.one_minus_alpha, x, x)
        np.exp(x, x)
        sub(x, one, x)
        mul(pop, x, x)
        utility = div(x, c.one_minus_alpha, rows[R_UTIL])
        div(utility, ex["welfare_discount"], rows[R_SW])
        np.copyto(rows[R_REWARD], utility)
        sub(exports, imports, x)
        mul(k["delta"], x, x)
        add(debt, x, rows[R_D])
        # climate
        forcing = div(s.M[..., 0], k["M_AT_1750"])
        np.log2(forcing, forcing)
        mul(k["F_2x"], forcing, forcing)
        add(forcing, ex["f_ex"], forcing)
        temperature = s.T @ c.phi_T_t
        add(temperature, mul(c.b_T, forcing[..., None]), temperature)
        sub(one, mit, x)
        mul(prev[R_SIGMA], x, x)
        emissions = mul(x, production, rows[R_EMIS])
        if mode.emissions_with_tfp:
            mul(emissions, s_A, emissions)
        total = np.add.reduce(emissions, -1)
        add(total, ex["e_land_n"], total)
        carbon = s.M @ c.phi_M_t
        add(carbon, mul(c.b_M, total[..., None]), carbon)
        mul(c.capital_factor, s_K, x)
        add(x, mul(k["delta"], inv, y), rows[R_K])
        np.copyto(rows[R_SAV], sav)
        np.copyto(rows[R_MIT], mit)
        np.copyto(rows[R_XL], ctl.export_limit)
        glob = ex["glob"]
        self._rows, self._glob = rows, glob
        self.state = _row_state(
            {"t": t, "T": temperature, "M": carbon, "tariffs": ctl.tariffs, "_rows": rows, "_glob": glob}
        )
        return self.state

    def observations(
        self, timestep: int, zero_reward: bool, extra: tuple[Any, Any] | None, out: np.ndarray
    ) -> np.ndarray:
        """Fill ``out`` (B, N, F) with the observation of the kernel's state (see ``observation_parts``)."""
        s, rows, b, n = self.state, self._rows, self.batch, self.n
        assert s is not None and rows is not None and self._glob is not None
        g_extra = 0 if extra is None else extra[0].shape[-1]
        gd = 8 + g_extra
        g = n + gd + N_PUB * n + n * n
        # the shared features are computed once in float64 and copied to every region's row (rounded to the
        # observation dtype, as the reference's cast); one episode writes them into region 0's row directly
        shared = out[:, 0, n:g] if b == 1 else np.empty((b, g - n))
        priv = out[..., g : g + N_PRIV]
        cached = self._obs_cache is not None and self._obs_cache[0] is s
        if cached:  # a negotiation step: the state, so all but the step's own features, is unchanged
            assert self._obs_cache is not None
            _, shared_prev, priv_prev = self._obs_cache
            shared[...] = shared_prev
            priv[...] = priv_prev
        else:
            np.divide(s.T, 10.0, shared[:, 0:2])
            np.divide(s.M, 1e4, shared[:, 2:5])
            shared[:, 5:7] = self._glob.T
            pub = shared[:, gd : gd + N_PUB * n].reshape(b, N_PUB, n).transpose(1, 0, 2)
            np.divide(rows[:N_PUB], PUBLIC_DIV, pub)
            np.divide(s.tariffs, 100.0, shared[:, gd + N_PUB * n :].reshape(b, n, n))
            np.divide(rows[N_PUB : N_PUB + N_PRIV].transpose(1, 2, 0), PRIVATE_DIV_LAST, priv)  # (B, N, 9)
            np.multiply(rows[N_PUB + SIGMA], 10.0, priv[..., SIGMA])
            if self.cache_observations:
                self._obs_cache = (s, shared.copy(), priv.copy())
        shared[:, 7] = timestep / 100.0
        if extra is not None:
            shared[:, 8:gd] = extra[0]
        out[:, 1 if b == 1 else 0 :, n:g] = shared[:, None, :]
        eye = self._eye_as.get(out.dtype)
        if eye is None:  # the one-hot block in the observation dtype (the same values), made once
            eye = self._eye_as[out.dtype] = self._eye.astype(out.dtype)
        out[..., :n] = eye
        if zero_reward:
            out[..., g + N_PRIV - 1] = 0.0
        if extra is not None:
            out[..., g + N_PRIV :] = extra[1]
        return out
