"""The batched env: shapes, observation layout, masks, negotiation, determinism, action checks."""

from __future__ import annotations

import numpy as np
import pytest

from rice_n import BatchRiceEnv, ClimateClub, InvalidActionError, Protocol

N = 27


def test_spaces_without_and_with_negotiation() -> None:
    env = BatchRiceEnv(num_envs=3)
    obs, mask = env.reset()
    assert env.n_agents == N and env.episode_length == 20
    assert env.action_nvec.tolist() == [10] * 57
    assert obs.shape == (3, N, 1043) and obs.dtype == np.float32
    assert mask.shape == (3, N, 570) and mask.dtype == np.int8 and np.all(mask == 1)
    neg = BatchRiceEnv(num_envs=2, protocol="bilateral")
    obs, mask = neg.reset()
    assert neg.episode_length == 60
    assert neg.action_nvec.tolist() == [10] * 111 + [2] * 27
    assert obs.shape == (2, N, 1207) and mask.shape == (2, N, 1164)


def test_observation_layout_holds_region_id_and_state() -> None:
    env = BatchRiceEnv(num_envs=2)
    obs, _ = env.reset()
    np.testing.assert_array_equal(obs[0, :, :N], np.eye(N))  # one-hot region id first
    np.testing.assert_allclose(obs[1, 5, N : N + 2], [0.085, 0.00068], rtol=1e-6)  # T / 10
    np.testing.assert_allclose(obs[1, 5, N + 2 : N + 5], [0.0851, 0.046, 0.174], rtol=1e-6)  # M / 1e4
    a = np.full((2, N, 57), 3)
    obs, _, reward, done, info = env.step(a)
    s = env.state
    public = N + 8
    np.testing.assert_allclose(obs[0, 0, public : public + N], s.K[0] / 1e4, rtol=1e-6)
    np.testing.assert_allclose(obs[0, 3, public + 6 * N : public + 7 * N], 0.3, rtol=1e-6)  # savings
    np.testing.assert_allclose(obs[0, 3, public + 10 * N : public + 11 * N], s.tariffs[0, 0] / 100, rtol=1e-6)
    np.testing.assert_allclose(obs[:, :, -1], s.reward, rtol=1e-6)  # reward is the last private feature
    np.testing.assert_allclose(obs[:, :, -9], s.A / 100, rtol=1e-6)
    np.testing.assert_allclose(reward, s.utility)
    assert info == {"stage": 0, "activity_step": 1, "year": 2020} and not done


def test_bilateral_protocol_stages_floor_and_mask() -> None:
    env = BatchRiceEnv(num_envs=2, protocol="bilateral")
    env.reset()
    a = np.zeros((2, N, 138), dtype=np.int64)
    a[..., 57:111] = 5  # every promise and request 0.5
    a[..., 111:] = 1  # accept everything
    stages = []
    for _ in range(3):
        _, mask, reward, _, info = env.step(a)
        stages.append(info["stage"])
        if info["stage"]:
            assert np.all(reward == 0)
    assert stages == [1, 2, 0]
    np.testing.assert_allclose(env.pstate["min_mitigation"], 0.5)
    assert mask[0, 0, 10:20].tolist() == [0] * 5 + [1] * 5
    assert np.all(mask[..., :10] == 1) and np.all(mask[..., 20:] == 1)


def test_negotiation_invariance() -> None:
    """With no agreement, negotiation on gives the same trajectory at every third step."""
    rng = np.random.default_rng(0)
    plain = BatchRiceEnv(num_envs=2)
    neg = BatchRiceEnv(num_envs=2, protocol="bilateral")
    plain.reset()
    neg.reset()
    for _ in range(20):
        act = rng.integers(0, 10, (2, N, 57))
        _, _, r_plain, d_plain, _ = plain.step(act)
        full = np.concatenate([act, np.zeros((2, N, 81), dtype=act.dtype)], axis=-1)
        for _ in range(3):
            _, _, r_neg, d_neg, info = neg.step(full)
        assert info["stage"] == 0
        np.testing.assert_array_equal(r_plain, r_neg)
        np.testing.assert_array_equal(plain.state.T, neg.state.T)
        np.testing.assert_array_equal(plain.state.K, neg.state.K)
    assert d_plain and d_neg


def test_determinism_and_reset_restores_initial_observation() -> None:
    rng = np.random.default_rng(1)
    acts = rng.integers(0, 10, (20, 2, N, 57))
    runs = []
    for _ in range(2):
        env = BatchRiceEnv(num_envs=2)
        obs0, _ = env.reset()
        traj = [env.step(a)[0] for a in acts]
        runs.append((obs0, np.stack(traj)))
        again, _ = env.reset()
        np.testing.assert_array_equal(again, obs0)
    np.testing.assert_array_equal(runs[0][1], runs[1][1])
    # episodes of a batch are independent: episode 1 equals a single-episode run
    single = BatchRiceEnv(num_envs=1)
    single.reset()
    for a in acts:
        single.step(a[1:2])
    env2 = BatchRiceEnv(num_envs=2)
    env2.reset()
    for a in acts:
        env2.step(a)
    np.testing.assert_allclose(single.state.K[0], env2.state.K[1], rtol=1e-13)
    np.testing.assert_allclose(single.state.T[0], env2.state.T[1], rtol=1e-13)


@pytest.mark.parametrize(
    ("actions", "message"),
    [
        (np.zeros((1, N, 56), dtype=int), "shape"),
        (np.full((1, N, 57), 10), "out of range"),
        (np.full((1, N, 57), -1), ">= 0"),
        (np.full((1, N, 57), np.nan), "NaN"),
        (np.full((1, N, 57), 0.5), "whole numbers"),
        (np.full((1, N, 57), "a"), "numeric"),
    ],
)
def test_invalid_actions_raise(actions: np.ndarray, message: str) -> None:
    env = BatchRiceEnv(num_envs=1)
    env.reset()
    with pytest.raises(InvalidActionError, match=message):
        env.step(actions)


def test_unchecked_path_and_end_of_episode() -> None:
    env = BatchRiceEnv(num_envs=1, observe=False)
    env.reset()
    f = np.zeros((1, N, 57))
    f[..., 0] = 1.0
    for _ in range(20):
        obs, _, _, done, _ = env.step_unchecked(f)
    assert obs is None and done
    with pytest.raises(RuntimeError, match="reset"):
        env.step_unchecked(f)
    env.reset()
    with pytest.raises(InvalidActionError, match="shape"):
        env.step_unchecked(np.zeros((2, N, 57)))


def test_mask_violation_modes() -> None:
    a = np.zeros((1, N, 138), dtype=np.int64)
    a[..., 57:111] = 5
    a[..., 111:] = 1
    results = {}
    for how in ("ignore", "clip", "raise"):
        env = BatchRiceEnv(num_envs=1, protocol="bilateral", mask_violation=how)
        env.reset()
        env.step(a)
        env.step(a)
        if how == "raise":
            with pytest.raises(InvalidActionError, match="floor"):
                env.step(a)
        else:
            env.step(a)
            results[how] = env.state.mitigation[0]
    np.testing.assert_allclose(results["ignore"], 0.0)
    np.testing.assert_allclose(results["clip"], 0.5)


def test_climate_club_protocol() -> None:
    club = ClimateClub(members=[0, 1, 2], min_mitigation=0.6, tariff=0.4)
    env = BatchRiceEnv(num_envs=1, protocol=club)
    obs, mask = env.reset()
    assert obs.shape[-1] == 1043 + 1
    assert mask[0, 0, 10:20].tolist() == [0] * 6 + [1] * 4 and np.all(mask[0, 3, 10:20] == 1)
    a = np.zeros((1, N, 57), dtype=np.int64)
    env.step(a)
    s = env.state
    np.testing.assert_allclose(s.mitigation[0, :3], 0.6)
    np.testing.assert_allclose(s.mitigation[0, 3:], 0.0)
    assert np.all(s.tariffs[0, :3, 3:] == 0.4) and np.all(s.tariffs[0, :3, :3] == 0)
    assert np.all(s.tariffs[0, 3:] == 0)
    with pytest.raises(ValueError, match="member"):
        BatchRiceEnv(protocol=ClimateClub(members=[30]))


def test_metrics_and_record() -> None:
    env = BatchRiceEnv(num_envs=2, record=True, observe=False)
    env.reset()
    for _ in range(20):
        env.step(np.full((2, N, 57), 2))
    assert len(env.history) == 21 and env.history[0].t == 0 and env.history[-1].t == 20
    m = env.episode_metrics()
    go = sum(h.gross_output.sum(-1) for h in env.history[1:])
    np.testing.assert_allclose(m["gross_output"], go)
    np.testing.assert_allclose(m["temperature_rise"], env.state.T[:, 0] - 0.85)
    assert set(m) >= {"temperature_rise", "gross_output", "climate_index", "economic_index", "episode_reward"}


def test_custom_protocol_subclass() -> None:
    class CarbonFloor(Protocol):
        name = "carbon-floor"

        def mitigation_floor(self, ops, pstate, state):  # type: ignore[no-untyped-def]
            return ops.zeros(state.K.shape) + 0.2

    env = BatchRiceEnv(num_envs=2, protocol=CarbonFloor(), mask_violation="clip")
    _, mask = env.reset()
    assert mask[1, 26, 10:20].tolist() == [0, 0] + [1] * 8
    env.step(np.zeros((2, N, 57), dtype=np.int64))
    np.testing.assert_allclose(env.state.mitigation, 0.2)


def test_observation_parts_rebuild_the_full_observation() -> None:
    env = BatchRiceEnv(num_envs=2, protocol="bilateral")
    env.reset()
    a = np.ones((2, N, 138), dtype=np.int64)
    for _ in range(4):
        obs, *_ = env.step(a)
    parts = env.observation_parts()
    i = 11
    rebuilt = np.concatenate([np.eye(N)[i][None].repeat(2, 0), parts["shared"], parts["private"][:, i]], -1)
    np.testing.assert_allclose(obs[:, i], rebuilt.astype(np.float32))
    assert parts["shared"].shape[-1] + parts["private"].shape[-1] + N == env.obs_dim
