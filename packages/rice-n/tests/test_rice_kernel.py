"""The numpy fast path (rice_n._kernel) equals the reference dynamics and observations to the last bit."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import rice_n


def _pair(**kwargs: Any) -> tuple[rice_n.BatchRiceEnv, rice_n.BatchRiceEnv]:
    fast = rice_n.BatchRiceEnv(**kwargs)
    ref = rice_n.BatchRiceEnv(**kwargs)
    ref._kernel = None  # the reference: dynamics.activity_step and observation_parts
    return fast, ref


def _same(a: Any, b: Any) -> None:
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape and a.dtype == b.dtype
    assert a.tobytes() == b.tobytes()


@pytest.mark.parametrize(
    ("num_envs", "protocol", "mode", "mask_violation"),
    [
        (1, "none", "upstream", "ignore"),
        (3, "bilateral", "upstream", "clip"),
        (2, "climate-club", "paper", "ignore"),
        (1, "bilateral", "paper", "ignore"),
    ],
)
def test_kernel_equals_reference_bit_for_bit(
    num_envs: int, protocol: str, mode: str, mask_violation: str
) -> None:
    proto = rice_n.ClimateClub([0, 3, 5]) if protocol == "climate-club" else protocol
    fast, ref = _pair(
        num_envs=num_envs, protocol=proto, mode=mode, mask_violation=mask_violation, record=True
    )
    rng = np.random.default_rng(num_envs)
    for _ in range(2):  # two episodes: reset restores the tables' start
        for x, y in zip(fast.reset(), ref.reset(), strict=True):
            _same(x, y)
        while not fast.done:
            a = rng.integers(0, fast.action_nvec, (num_envs, fast.n_agents, fast.n_actions))
            got, want = fast.step(a), ref.step(a)
            for x, y in zip(got[:4], want[:4], strict=True):
                _same(x, y)
            assert got[4] == want[4]
        for key, value in ref.state_numpy().items():
            _same(fast.state_numpy()[key], value)
        for key, value in ref.episode_metrics().items():
            _same(fast.episode_metrics()[key], value)
    assert fast.state is fast._kernel.state  # the fast path ran
    assert len(fast.history) == len(ref.history)


def test_kernel_unchecked_fractions_and_foreign_state() -> None:
    fast, ref = _pair(num_envs=2, protocol="bilateral")
    rng = np.random.default_rng(7)
    fast.reset(), ref.reset()
    while not fast.done:
        f = rng.random((2, fast.n_agents, fast.n_actions))
        f[0, 0, 3:10] = [np.nan, np.inf, -0.5, 1.5, 0.0, 1.0, -0.0]  # no check on this path: same either way
        with np.errstate(all="ignore"):
            got, want = fast.step_unchecked(f), ref.step_unchecked(f)
        for x, y in zip(got[:3], want[:3], strict=True):
            _same(x, y)
    # a state set from outside is stepped by the reference path
    fast.reset(), ref.reset()
    fast.state = fast.state.replace(K=fast.state.K * 1.5)
    ref.state = ref.state.replace(K=ref.state.K * 1.5)
    a = np.zeros((2, fast.n_agents, fast.n_actions), dtype=np.int64)
    for x, y in zip(fast.step(a)[:3], ref.step(a)[:3], strict=True):
        _same(x, y)
