"""The shared masked policy: split forward = full forward, masks respected, log-probs and entropies."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from rice_n import BatchRiceEnv  # noqa: E402
from rice_n.train import ObsSplit, SharedPolicy, TrainConfig, preset, stage_dim_mask  # noqa: E402
from rice_n.train.policy import log_prob_entropy, sample_actions  # noqa: E402


def make(protocol: str = "none", b: int = 3) -> tuple[BatchRiceEnv, SharedPolicy]:
    torch.manual_seed(0)
    env = BatchRiceEnv(num_envs=b, protocol=protocol)
    return env, SharedPolicy(ObsSplit.from_env(env), env.action_nvec, hidden=(32, 16))


@pytest.mark.parametrize("protocol", ["none", "bilateral"])
def test_split_forward_equals_full_forward(protocol: str) -> None:
    env, pol = make(protocol)
    obs, _ = env.reset()
    env.step(np.ones((3, 27, env.n_actions), dtype=np.int64))
    obs = torch.as_tensor(env.observations())
    assert pol.split.obs_dim == env.obs_dim
    full_logits, full_v = pol(obs)
    logits, v = pol.forward_split(*pol.split.split(obs))
    torch.testing.assert_close(logits, full_logits, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(v, full_v, rtol=1e-4, atol=1e-5)
    # the shared part really is shared: identical across regions
    n, s = pol.split.n_agents, pol.split.shared_dim
    assert torch.equal(obs[:, 0, n : n + s], obs[:, 5, n : n + s])


@pytest.mark.parametrize("protocol", ["none", "bilateral"])
def test_masked_levels_are_never_sampled(protocol: str) -> None:
    env, pol = make(protocol, b=4)
    nvec = env.action_nvec
    m = env.mask_dim
    gen = torch.Generator().manual_seed(1)
    mask = torch.rand((4, 27, m), generator=gen) < 0.5
    offsets = np.concatenate([[0], np.cumsum(nvec)[:-1]])
    for d, (o, k) in enumerate(zip(offsets, nvec, strict=True)):  # keep one allowed level per dim
        mask[..., o + (d % k)] = True
    obs = torch.as_tensor(env.reset()[0])
    logits, _ = pol(obs)
    # make masked levels the most attractive: still never chosen
    logits = logits + 50.0 * (~mask).float()
    padded = pol.padded(logits, mask)
    for greedy in (False, True):
        for _ in range(20):
            a = sample_actions(padded, gen, greedy)
            taken = torch.gather(mask, -1, a + torch.as_tensor(offsets))
            assert bool(taken.all())
            assert bool((a < torch.as_tensor(nvec)).all())


def test_log_prob_and_entropy_match_categorical() -> None:
    env, pol = make("bilateral", b=2)
    obs, mask = env.reset()
    obs, mask = torch.as_tensor(obs), torch.as_tensor(mask).bool()
    mask[..., 10:14] = False  # mitigation levels 0..3 forbidden
    logits, _ = pol(obs)
    padded = pol.padded(logits, mask)
    a = sample_actions(padded, torch.Generator().manual_seed(0))
    assert bool((a[..., 1] >= 4).all())
    logp, ent = log_prob_entropy(padded, a)
    ref_lp, ref_ent = torch.zeros_like(logp), torch.zeros_like(ent)
    start = 0
    for d, k in enumerate(env.action_nvec):
        lg = logits[..., start : start + k].masked_fill(~mask[..., start : start + k], -1e9)
        dist = torch.distributions.Categorical(logits=lg)
        ref_lp += dist.log_prob(a[..., d])
        ref_ent += dist.entropy()
        start += k
    torch.testing.assert_close(logp, ref_lp, rtol=1e-4, atol=1e-3)
    torch.testing.assert_close(ent, ref_ent, rtol=1e-4, atol=1e-3)


def test_stage_dims_of_bilateral() -> None:
    env = BatchRiceEnv(num_envs=1, protocol="bilateral")
    dims = stage_dim_mask(env)
    assert dims.shape == (3, 138)
    assert dims[0, :57].all() and not dims[0, 57:].any()
    assert dims[1, 57:111].all() and not dims[1, :57].any() and not dims[1, 111:].any()
    assert dims[2, 111:].all() and dims[2].sum() == 27
    assert stage_dim_mask(BatchRiceEnv(num_envs=1)).all()


def test_config_validation_and_presets() -> None:
    with pytest.raises(ValueError, match="algo"):
        TrainConfig(algo="dqn")
    with pytest.raises(ValueError, match="episodes"):
        TrainConfig(episodes=0)
    with pytest.raises(ValueError, match="unknown preset 'sac'"):
        preset("sac")
    cfg = preset("a2c-rllib", seed=4, episodes=None)
    assert cfg.algo == "a2c" and cfg.seed == 4 and cfg.num_envs == 100
    assert cfg.entropy_coeff(0) == 0.5 and cfg.entropy_coeff(5e5) == pytest.approx(0.3)
    assert cfg.entropy_coeff(1e7) == 0.05
    assert TrainConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ValueError, match="unknown training config keys"):
        TrainConfig.from_dict({"nope": 1})
    d = preset("ppo")
    assert (d.algo, d.gamma, d.lr, d.vf_coeff, d.grad_clip, d.hidden) == (
        "ppo",
        0.92,
        5e-4,
        0.1,
        0.5,
        (256, 256),
    )


def test_stage_groups_give_the_same_log_probs_and_entropies() -> None:
    from rice_n.train.learner import Samples, evaluate_actions
    from rice_n.train.policy import stage_groups

    env, pol = make("bilateral", b=2)
    dims_np = stage_dim_mask(env)
    groups = stage_groups(dims_np, env.action_nvec)
    assert groups is not None and [(g.d0, g.d1, g.levels) for g in groups] == [
        (0, 57, 10),
        (57, 111, 10),
        (111, 138, 2),
    ]
    assert stage_groups(np.ones_like(dims_np), env.action_nvec) is None  # mixed sizes: general path
    obs, mask = env.reset()
    rows = []
    gen = np.random.default_rng(0)
    for _ in range(6):
        stage = env.next_stage
        acts = gen.integers(0, env.action_nvec, (2, 27, env.n_actions))
        acts[..., 1] = 9  # above any floor
        rows.append((torch.as_tensor(obs), torch.as_tensor(mask).bool(), torch.as_tensor(acts), stage))
        obs, mask, *_ = env.step(acts)
    o = torch.cat([r[0] for r in rows])
    shared, private = pol.split.split(o)
    stage = torch.tensor([r[3] for r in rows]).repeat_interleave(2)
    dims = torch.as_tensor(dims_np, dtype=torch.float32)
    e = o.shape[0]
    base = dict(
        shared=shared,
        private=private,
        mask=torch.cat([r[1] for r in rows]),
        actions=torch.cat([r[2] for r in rows]),
        logp=torch.zeros(e, 27),
        adv=torch.zeros(e, 27),
        targets=torch.zeros(e, 27),
        dims=dims[stage][:, None, :],
        stage=stage,
    )
    lp_full, ent_full, v_full = evaluate_actions(pol, Samples(**base))
    lp, ent, v = evaluate_actions(pol, Samples(**base, groups=groups))
    torch.testing.assert_close(lp, lp_full, rtol=1e-5, atol=1e-4)
    torch.testing.assert_close(ent, ent_full, rtol=1e-5, atol=1e-4)
    torch.testing.assert_close(v, v_full)
