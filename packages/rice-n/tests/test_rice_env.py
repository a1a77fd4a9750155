"""The PettingZoo ParallelEnv and the Gymnasium single-agent wrapper pass their API checkers."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from pettingzoo.test import parallel_api_test, parallel_seed_test

import rice_n
from rice_n import InvalidActionError, RiceSingleAgentEnv

N = 27


@pytest.mark.parametrize("protocol", ["none", "bilateral"])
def test_parallel_api_and_seed(protocol: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the checkers warn on API slips: make them fail
        parallel_api_test(rice_n.parallel_env(protocol=protocol), num_cycles=100)
        parallel_seed_test(lambda: rice_n.parallel_env(protocol=protocol), num_cycles=100)


def test_parallel_env_interface() -> None:
    env = rice_n.parallel_env(protocol="none", mode="upstream")
    assert env.possible_agents == [f"region_{i}" for i in range(N)]
    obs, _ = env.reset(seed=0)
    assert obs["region_3"]["features"].shape == (1043,)
    assert obs["region_3"]["features"][3] == 1.0
    flat = np.concatenate(obs["region_3"]["action_mask"])
    assert flat.shape == (570,)
    assert env.action_space("region_0").nvec.tolist() == [10] * 57
    steps = 0
    while env.agents:
        actions = {a: np.full(57, 2) for a in env.agents}
        _, _, terms, truncs, _ = env.step(actions)
        steps += 1
    assert steps == 20 and all(terms.values()) and not any(truncs.values())
    assert env.episode_metrics()["temperature_rise"] > 0
    with pytest.raises(RuntimeError, match="reset"):
        env.step(actions)
    env.reset()
    with pytest.raises(InvalidActionError, match="no action"):
        env.step({"region_0": np.zeros(57, dtype=int)})
    with pytest.raises(KeyError, match="unknown agent"):
        env.action_space("region_99")
    assert env.state().shape == (8 + 10 * N + N * N,)


def test_parallel_env_unchecked_reaches_index_bound() -> None:
    env = rice_n.parallel_env()
    env.reset()
    f = np.zeros(57)
    f[1] = 1.0
    while env.agents:
        env.step_unchecked(dict.fromkeys(env.agents, f))
    assert env.episode_metrics()["temperature_rise"] == pytest.approx(1.250678, rel=1e-5)


def test_parallel_env_matches_batch_env() -> None:
    rng = np.random.default_rng(5)
    acts = rng.integers(0, 10, (20, N, 57))
    pz = rice_n.parallel_env()
    pz.reset()
    batch = rice_n.BatchRiceEnv(num_envs=1)
    batch.reset()
    for a in acts:
        obs, rew, *_ = pz.step({f"region_{i}": a[i] for i in range(N)})
        bobs, _, brew, _, _ = batch.step(a[None])
        np.testing.assert_array_equal([rew[f"region_{i}"] for i in range(N)], brew[0])
        np.testing.assert_array_equal(obs["region_7"]["features"], bobs[0, 7])


@pytest.mark.parametrize("protocol", ["none", "bilateral"])
def test_gymnasium_single_agent_check_env(protocol: str) -> None:
    env = RiceSingleAgentEnv(region=4, protocol=protocol)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # infinite Box bounds warn
        check_env(env, skip_render_check=True)


def test_gymnasium_wrapper_others_and_errors() -> None:
    def others(features: np.ndarray, masks: np.ndarray, stage: int) -> np.ndarray:
        out = np.zeros((N, 57), dtype=int)
        out[:, 1] = 9
        return out

    env = RiceSingleAgentEnv(region=0, others=others)
    env.reset(seed=1)
    total, done = 0.0, False
    while not done:
        _, r, done, trunc, _ = env.step(np.full(57, 2))
        total += r
        assert not trunc
    np.testing.assert_allclose(env.batch.state.mitigation[0, 1:], 0.9)
    np.testing.assert_allclose(env.batch.state.mitigation[0, 0], 0.2)
    assert total == pytest.approx(env.batch.episode_reward[0, 0])
    with pytest.raises(ValueError, match="region must be"):
        RiceSingleAgentEnv(region=27)
    with pytest.raises(ValueError, match="others must be"):
        RiceSingleAgentEnv(others=np.zeros(3, dtype=int))
    env.reset()
    with pytest.raises(InvalidActionError, match="shape"):
        env.step(np.zeros(5, dtype=int))
    with pytest.raises(InvalidActionError, match="NaN"):
        env.step(np.full(57, np.nan))


def test_reward_feature_is_zero_at_negotiation_steps_as_upstream() -> None:
    env = rice_n.parallel_env(protocol="bilateral")
    obs, _ = env.reset()
    zeros = {a: np.zeros(env.action_space(a).shape, dtype=np.int64) for a in env.agents}
    history = []
    for _ in range(4):
        obs, *_ = env.step(zeros)
        history.append(float(obs["region_0"]["features"][1043]))
    assert history[2] != 0.0  # step 3: an activity step shows its reward
    assert history[3] == 0.0 and history[0] == 0.0  # proposal steps: 0, as upstream
    kept = rice_n.parallel_env(protocol="bilateral", observe_last_reward=True)
    kept.reset()
    for _ in range(4):
        obs_k, *_ = kept.step(zeros)
    assert float(obs_k["region_0"]["features"][1043]) == history[2]


def test_mask_tuples_are_views_updated_in_place() -> None:
    env = rice_n.parallel_env(protocol="bilateral")
    obs, _ = env.reset()
    first = obs["region_0"]["action_mask"]
    nvec = env.action_space("region_0").nvec
    act = np.zeros(nvec.size, dtype=np.int64)
    act[57:111] = 5  # promise and request 0.5
    act[111:] = 1  # accept everything
    for _ in range(2):
        obs, *_ = env.step(dict.fromkeys(env.agents, act))
    mask = obs["region_0"]["action_mask"]
    assert mask is first  # the same tuple of views
    assert mask[1].tolist() == [0] * 5 + [1] * 5
    flat = env.batch.action_mask()[0, 0]
    assert np.array_equal(np.concatenate(mask), flat)
