"""The fast path's state (rice_n._kernel.RowState) behaves as a RiceState: fields, replace, copies."""

from __future__ import annotations

import dataclasses
import pickle

import numpy as np

import rice_n
from rice_n._kernel import RowState
from rice_n.dynamics import RiceState


def test_row_state_fields_replace_and_pickle() -> None:
    env = rice_n.BatchRiceEnv(num_envs=1, record=True)
    env.reset()
    a = np.full((1, env.n_agents, env.n_actions), 3)
    env.step(a)
    s = env.state
    assert isinstance(s, RowState) and isinstance(s, RiceState)
    ref = rice_n.BatchRiceEnv(num_envs=1)
    ref._kernel = None  # the reference path: a plain RiceState
    ref.reset()
    ref.step(a)
    for f in dataclasses.fields(RiceState):  # every field readable, equal to the reference's
        got, want = getattr(s, f.name), getattr(ref.state, f.name)
        assert np.asarray(got).tobytes() == np.asarray(want).tobytes(), f.name
    with np.testing.assert_raises(AttributeError):
        s.no_such_field  # noqa: B018
    doubled = s.replace(K=s.K * 2)
    assert np.array_equal(doubled.K, s.K * 2) and np.array_equal(doubled.reward, s.reward)
    back = pickle.loads(pickle.dumps(s))
    assert np.array_equal(back.gross_output, s.gross_output) and back.t == s.t


def test_row_state_fields_are_its_own() -> None:
    """Writing into one state's field changes neither the next step nor another state's fields."""
    env = rice_n.BatchRiceEnv(num_envs=1, record=True)
    env.reset()
    a = np.full((1, env.n_agents, env.n_actions), 5)
    env.step(a)
    env.step(a)
    first, second = env.history[1], env.history[2]
    f_ex = second.F_EX.copy()
    first.F_EX[...] = -1.0  # a field of an old state: the exogenous tables are not touched
    assert np.array_equal(second.F_EX, f_ex)
    again = rice_n.BatchRiceEnv(num_envs=1)
    again.reset()
    again.step(a)
    again.step(a)
    assert again.state.F_EX.tobytes() == f_ex.tobytes()
    assert not np.shares_memory(first.K, second.K)


def test_bilateral_offdiag_per_backend() -> None:
    env = rice_n.BatchRiceEnv(num_envs=1, protocol="bilateral")
    off = env.protocol._offdiag(env.ops, 4)
    assert off is env.protocol._offdiag(env.ops, 4)
    assert np.array_equal(off, 1.0 - np.eye(4))
    other = rice_n.BatchRiceEnv(num_envs=1, protocol="bilateral")
    assert other.protocol._offdiag(other.ops, 4) is not off
