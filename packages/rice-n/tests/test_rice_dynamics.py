"""The dynamics against upstream's index bounds and a scalar, loop-by-loop reference of the equations."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rice_n import BatchRiceEnv, Mode, default_params
from rice_n._backend import NumpyOps
from rice_n.dynamics import Constants, Controls, activity_step, initial_state, trade_flows

N = 27


def run_constant(fractions: np.ndarray, mode: str = "upstream") -> BatchRiceEnv:
    env = BatchRiceEnv(num_envs=1, mode=mode, observe=False)
    env.reset()
    done = False
    while not done:
        _, _, _, done, _ = env.step_unchecked(fractions[None])
    return env


def test_extremal_index_worst_climate() -> None:
    f = np.zeros((N, 57))
    f[:, 0] = 1.0  # savings a=10, everything else 0
    m = run_constant(f).episode_metrics()
    np.testing.assert_allclose(m["temperature_rise"], 7.006739, rtol=1e-5)
    np.testing.assert_allclose(m["gross_output"], 9673.532, rtol=1e-5)
    np.testing.assert_allclose(m["episode_reward"], 0.0, atol=1e-12)
    np.testing.assert_allclose(m["climate_index"], 0.0, atol=1e-5)
    np.testing.assert_allclose(m["economic_index"], 1.0, rtol=1e-5)


def test_extremal_index_best_climate() -> None:
    f = np.zeros((N, 57))
    f[:, 1] = 1.0  # mitigation a=10, everything else 0
    m = run_constant(f).episode_metrics()
    np.testing.assert_allclose(m["temperature_rise"], 1.250678, rtol=1e-5)
    np.testing.assert_allclose(m["gross_output"], 606.5728, rtol=1e-5)
    np.testing.assert_allclose(m["climate_index"], 1.0, rtol=1e-5)
    np.testing.assert_allclose(m["economic_index"], 0.0, atol=1e-5)


# ---------------------------------------------------------------- scalar reference (facts file, section 2)
def reference_step(p, st: dict, ctl: dict, t: int) -> dict:
    """One activity step written region by region, pair by pair, from the equations alone."""
    n = p.n_regions
    out = {k: [0.0] * n for k in ("Q", "I", "Y", "C", "U", "Cdom", "theta1", "omega", "lam")}
    t_at = st["T"][0]
    for i in range(n):
        theta1 = p.p_b[i] / (1000 * p.theta_2[i]) * (1 - p.delta_pb[i]) ** (t - 1) * st["sigma"][i]
        omega = 1 / (1 + p.a_1[i] * t_at + p.a_2[i] * t_at ** p.a_3[i])
        lam = theta1 * ctl["mu"][i] ** p.theta_2[i]
        y = st["A"][i] * st["K"][i] ** p.gamma[i] * (st["L"][i] / 1000) ** (1 - p.gamma[i])
        q = omega * (1 - lam) * y
        out["theta1"][i], out["omega"][i], out["lam"][i] = theta1, omega, lam
        out["Y"][i], out["Q"][i], out["I"][i] = y, q, ctl["s"][i] * q
    x = [[0.0 if i == j else ctl["bids"][i][j] * out["Q"][i] for j in range(n)] for i in range(n)]
    for i in range(n):
        total = sum(x[i])
        if total > out["Q"][i]:
            x[i] = [v * out["Q"][i] / total for v in x[i]]
    debt = [1.1 * d for d in st["D"]]
    for i in range(n):
        ratio = min(max(10 * debt[i] / p.K_0[i], -1.0), 0.0)
        x[i] = [v * (1 + ratio) for v in x[i]]
    for j in range(n):
        cap = min(ctl["xmax"][j] * out["Q"][j], out["Q"][j] - out["I"][j])
        col = sum(x[i][j] for i in range(n))
        if col > cap:
            for i in range(n):
                x[i][j] *= cap / col
    net = [[x[i][j] * (1 - st["tariffs"][i][j]) for j in range(n)] for i in range(n)]
    balance = []
    for i in range(n):
        exports = sum(x[j][i] for j in range(n))
        imports = sum(x[i])
        cdom = max(0.0, out["Q"][i] - out["I"][i] - exports)
        agg = 0.5 * cdom**0.5 + sum(0.5 / (n - 1) * net[i][j] ** 0.5 for j in range(n))
        c = agg**2
        pop = st["L"][i] / 1000
        out["Cdom"][i], out["C"][i] = cdom, c
        out["U"][i] = pop * ((c / pop + 1) ** (1 - 1.45) - 1) / (1 - 1.45)
        balance.append(debt[i] + 5 * (exports - imports))
    f_ex = 0.5 + min(0.5, 0.5 / 20 * (t - 1))
    e_land = 2.6 * 0.999 ** (t - 1) / n
    forcing = 3.6813 * math.log2(st["M"][0] / 588) + f_ex
    T = [
        0.8718 * st["T"][0] + 0.0088 * st["T"][1] + 0.1005 * forcing,
        0.025 * st["T"][0] + 0.975 * st["T"][1],
    ]
    e = sum(st["sigma"][i] * (1 - ctl["mu"][i]) * out["Y"][i] + e_land for i in range(n))
    phi = [[0.88, 0.196, 0], [0.12, 0.797, 0.001465], [0, 0.007, 0.99853488]]
    M = [sum(phi[r][k] * st["M"][k] for k in range(3)) + (1.36388 * e if r == 0 else 0.0) for r in range(3)]
    new = {
        "T": T,
        "M": M,
        "K": [0.9**5 * st["K"][i] + 5 * out["I"][i] for i in range(n)],
        "L": [st["L"][i] * ((1 + p.L_a[i]) / (1 + st["L"][i])) ** p.l_g[i] for i in range(n)],
        "A": [
            st["A"][i] * (math.exp(0.0033) + p.g_A[i] * math.exp(-p.delta_A[i] * 5 * (t - 1)))
            for i in range(n)
        ],
        "sigma": [st["sigma"][i] * math.exp(-0.0025 * 0.9 ** (5 * (t - 1)) * 5) for i in range(n)],
        "D": balance,
        "tariffs": ctl["tariffs"],
    }
    return new, out


def scenario_fractions(seed: int) -> np.ndarray:
    """Fixed activity actions with trade on, in upstream's slot layout (3..29 tariffs, 30..56 bids)."""
    rng = np.random.default_rng(seed)
    f = np.zeros((N, 57))
    f[:, 0] = rng.integers(1, 6, N) / 10  # savings 0.1..0.5
    f[:, 1] = rng.integers(0, 8, N) / 10  # mitigation
    f[:, 2] = rng.integers(0, 10, N) / 10  # export limit
    f[:, 3:30] = rng.integers(0, 10, (N, N)) / 10  # tariffs
    f[:, 30:57] = rng.integers(0, 2, (N, N)) / 10 * (1 + (np.arange(N) % 3 == 0)[:, None] * 8)  # bids
    return f


@pytest.mark.parametrize("seed", [0, 1])
def test_three_steps_match_scalar_reference(seed: int) -> None:
    p = default_params()
    env = BatchRiceEnv(num_envs=1, observe=False)
    env.reset()
    st = {
        "T": list(p.T_0),
        "M": list(p.M_0),
        "K": list(p.K_0),
        "L": list(p.L_0),
        "A": list(p.A_0),
        "sigma": list(p.sigma_0),
        "D": [0.0] * N,
        "tariffs": [[0.0] * N for _ in range(N)],
    }
    for t in (1, 2, 3):
        f = scenario_fractions(seed + 10 * t)
        ctl = {
            "s": f[:, 0],
            "mu": f[:, 1],
            "xmax": f[:, 2],
            "tariffs": f[:, 3:30].tolist(),
            "bids": f[:, 30:57].tolist(),
        }
        st, out = reference_step(p, st, ctl, t)
        env.step_unchecked(f[None])
        s = env.state
        for key in ("T", "M", "K", "L", "A", "sigma", "D"):
            np.testing.assert_allclose(getattr(s, key)[0], st[key], rtol=1e-12, atol=1e-12, err_msg=key)
        pairs = {
            "Q": "gross_output",
            "I": "investment",
            "Y": "production",
            "C": "consumption",
            "Cdom": "domestic_consumption",
            "U": "reward",
            "theta1": "mitigation_cost",
            "omega": "damages",
            "lam": "abatement_cost",
        }
        for ref, ours in pairs.items():
            # C_dom = Q - I - exports cancels when the export cap binds; sqrt(C_dom) turns ~1e-17 of
            # rounding into ~1e-9 of consumption
            np.testing.assert_allclose(getattr(s, ours)[0], out[ref], rtol=1e-10, atol=1e-8, err_msg=ours)
    # the scenario exercises every trade branch: debt, row scaling, export caps
    assert np.any(env.state.D[0] < 0)


def test_first_step_literal_numbers_region_0() -> None:
    """A few first-step numbers of region 0 written out literally (no trade, savings 0.2, mitigation 0.5)."""
    f = np.zeros((N, 57))
    f[:, 0], f[:, 1] = 0.2, 0.5
    env = BatchRiceEnv(num_envs=1, observe=False)
    env.reset()
    env.step_unchecked(f[None])
    s = env.state
    a0, k0, l0, sigma0 = 1.8724419952820714, 0.239419592, 476.878017, 0.4559257467059924
    y = a0 * k0**0.3 * (l0 / 1000) ** 0.7
    omega = 1 / (1 + 0.00236 * 0.85**2)
    theta1 = 550 / (1000 * 2.6) * sigma0
    q = omega * (1 - theta1 * 0.5**2.6) * y
    c = 0.25 * (q - 0.2 * q)  # no trade: C = 0.25 C_dom
    u = (l0 / 1000) * ((c / (l0 / 1000) + 1) ** (1 - 1.45) - 1) / (1 - 1.45)
    assert s.production[0, 0] == pytest.approx(y, rel=1e-13)
    assert s.gross_output[0, 0] == pytest.approx(q, rel=1e-13)
    assert s.consumption[0, 0] == pytest.approx(c, rel=1e-13)
    assert s.reward[0, 0] == pytest.approx(u, rel=1e-13)
    assert s.K[0, 0] == pytest.approx(0.59049 * k0 + 5 * 0.2 * q, rel=1e-13)
    # temperature: T_AT = 0.8718*0.85 + 0.0088*0.0068 + 0.1005*(3.6813 log2(851/588) + 0.5)
    t_at = 0.8718 * 0.85 + 0.0088 * 0.0068 + 0.1005 * (3.6813 * math.log2(851 / 588) + 0.5)
    assert s.T[0, 0] == pytest.approx(t_at, rel=1e-13)


def test_trade_conservation_and_carbon_diffusion() -> None:
    p = default_params()
    c = Constants(p, NumpyOps())
    mode = Mode.upstream()
    rng = np.random.default_rng(3)
    batch = 4
    s = initial_state(c, batch)
    for _ in range(3):
        ctl = Controls(
            savings=rng.random((batch, N)) * 0.5,
            mitigation=rng.random((batch, N)),
            export_limit=rng.random((batch, N)),
            import_bids=rng.random((batch, N, N)) * 0.1,
            tariffs=rng.random((batch, N, N)),
        )
        flows = trade_flows(c, mode, s, ctl)
        new = activity_step(c, mode, s, ctl)
        x = flows["imports"]
        assert np.all(np.diagonal(x, axis1=1, axis2=2) == 0)
        np.testing.assert_allclose(x.sum(axis=1), new.exports, rtol=1e-12)  # exports of j = sum_i X_ij
        np.testing.assert_allclose(x.sum(axis=2), new.imports, rtol=1e-12)
        np.testing.assert_allclose(new.exports.sum(-1), new.imports.sum(-1), rtol=1e-12)
        # export caps hold, imports never exceed gross output
        cap = np.minimum(ctl.export_limit * new.gross_output, new.gross_output - new.investment)
        assert np.all(new.exports <= cap * (1 + 1e-12) + 1e-15)
        assert np.all(new.imports <= new.gross_output * (1 + 1e-12))
        # tariffs (lagged) only shrink what arrives
        assert np.all(flows["net_imports"] <= x + 1e-15)
        # carbon mass follows the diffusion matrix with all emissions entering the atmosphere
        total = new.emissions.sum(-1) + new.E_land * N
        np.testing.assert_allclose(new.M, s.M @ p.phi_M.T + np.outer(total, p.b_M), rtol=1e-13)
        # the sum of trade balances changes only by the 10% interest
        np.testing.assert_allclose(new.D.sum(-1), 1.1 * s.D.sum(-1), atol=1e-9)
        s = new


def test_pure_step_does_not_mutate_state() -> None:
    c = Constants(default_params(), NumpyOps())
    s = initial_state(c, 2)
    before = {k: np.array(v, copy=True) for k, v in vars(s).items() if k != "t"}
    ctl = Controls(*(np.full((2, N), 0.3),) * 3, np.full((2, N, N), 0.02), np.full((2, N, N), 0.1))
    activity_step(c, Mode.upstream(), s, ctl)
    for k, v in before.items():
        np.testing.assert_array_equal(getattr(s, k), v)


def test_tariff_lag_and_slot_swap() -> None:
    """Upstream reads slots 3..29 as tariffs, 30..56 as bids and applies tariffs one step late."""
    f = np.zeros((N, 57))
    f[:, 0] = 0.2
    f[:, 2] = 0.5
    f[:, 30:57] = 0.02  # bids in upstream's slot
    g = f.copy()
    g[:, 3:30] = 0.9  # heavy tariffs
    a, b = run_steps(f, 2), run_steps(g, 2)
    np.testing.assert_allclose(a[0].consumption, b[0].consumption, rtol=1e-14)  # step 1: lag
    assert np.all(b[1].consumption <= a[1].consumption)  # step 2: tariffs bite
    assert np.sum(b[1].consumption < a[1].consumption) > N // 2
    assert np.all(a[0].imports > 0)
    # paper mode: no swap (slots 3..29 are bids) and no lag
    pa, pb = run_steps(_paper(f), 1, "paper"), run_steps(_paper(g), 1, "paper")
    assert np.all(pa[0].imports > 0)
    assert np.sum(pb[0].consumption < pa[0].consumption) > N // 2


def _paper(f: np.ndarray) -> np.ndarray:
    out = f.copy()
    out[:, 3:30], out[:, 30:57] = f[:, 30:57], f[:, 3:30]
    return out


def run_steps(f: np.ndarray, k: int, mode: str = "upstream") -> list:
    env = BatchRiceEnv(num_envs=1, mode=mode, observe=False)
    env.reset()
    states = []
    for _ in range(k):
        env.step_unchecked(f[None])
        states.append(env.state)
    return states


def test_paper_mode_stays_finite_and_literal_labor_is_available() -> None:
    f = np.zeros((N, 57))
    f[:, 0], f[:, 1] = 0.25, 0.3
    m = run_constant(f, "paper").episode_metrics()
    assert np.isfinite(m["temperature_rise"]).all() and m["temperature_rise"][0] > 4
    env = BatchRiceEnv(num_envs=1, mode=Mode(**{**vars(Mode.paper()), "labor_in_thousands": False}))
    env.reset()
    env.step_unchecked(f[None])
    p = default_params()
    np.testing.assert_allclose(env.state.production[0], p.A_0 * p.K_0**0.3 * p.L_0**0.7, rtol=1e-13)


def test_paper_mode_equations() -> None:
    f = np.zeros((N, 57))
    f[:, 0], f[:, 1] = 0.2, 0.5
    (s,) = run_steps(f, 1, "paper")
    p = default_params()
    omega = 1 - 0.00236 * 0.85**2
    y = p.A_0 * p.K_0**0.3 * (p.L_0 / 1000) ** 0.7
    np.testing.assert_allclose(s.damages[0], omega, rtol=1e-14)
    np.testing.assert_allclose(s.production[0], y, rtol=1e-13)
    np.testing.assert_allclose(s.emissions[0], p.sigma_0 * 0.5 * p.A_0 * y, rtol=1e-13)
    pc = s.consumption[0] / (p.L_0 / 1000)
    np.testing.assert_allclose(s.reward[0], p.L_0 / 1000 * (pc ** (1 - 1.45) - 1) / (1 - 1.45), rtol=1e-12)
