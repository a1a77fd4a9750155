"""The torch batch backend gives the numpy numbers (float64: to rounding; float32: float32 tolerance)."""

from __future__ import annotations

import numpy as np
import pytest

from rice_n import BatchRiceEnv, InvalidActionError

torch = pytest.importorskip("torch")
N = 27


@pytest.mark.parametrize(
    ("protocol", "dtype", "rtol", "atol"),
    [("none", None, 1e-6, 1e-9), ("bilateral", None, 1e-6, 1e-9), ("none", "float32", 1e-3, 1e-4)],
)
def test_torch_equals_numpy(protocol: str, dtype: str | None, rtol: float, atol: float) -> None:
    """float32 loses digits where C_dom = Q - I - exports cancels; the tolerance says so."""
    b = 3
    ref = BatchRiceEnv(num_envs=b, protocol=protocol)
    tch = BatchRiceEnv(
        num_envs=b, protocol=protocol, backend="torch", dtype=getattr(torch, dtype or "float64")
    )
    obs_np, mask_np = ref.reset()
    obs_t, mask_t = tch.reset()
    np.testing.assert_array_equal(mask_t.cpu().numpy(), mask_np)
    rng = np.random.default_rng(7)
    done = False
    while not done:
        acts = rng.integers(0, ref.action_nvec, (b, N, ref.n_actions))
        if dtype:  # keep C_dom away from 0, where sqrt turns float32 rounding into large differences
            acts[..., 0] = rng.integers(0, 5, (b, N))
            acts[..., 2] = rng.integers(0, 6, (b, N))
        obs_np, mask_np, r_np, done, info = ref.step(acts)
        obs_t, mask_t, r_t, done_t, info_t = tch.step(torch.as_tensor(acts))
        assert done == done_t and info == info_t
        assert isinstance(r_t, torch.Tensor)
        # per-region rewards: C_dom = Q - I - exports can cancel, which float32 amplifies
        np.testing.assert_allclose(r_t.numpy(), r_np, rtol=rtol * (10 if dtype else 1), atol=atol)
        np.testing.assert_allclose(r_t.numpy().sum(-1), r_np.sum(-1), rtol=rtol)
        np.testing.assert_allclose(
            obs_t.numpy(), obs_np, rtol=max(rtol, 1e-6) * (10 if dtype else 1), atol=max(atol, 1e-6)
        )
        for key in ("T", "M", "K", "gross_output"):
            np.testing.assert_allclose(
                getattr(tch.state, key).numpy(), getattr(ref.state, key), rtol=rtol / 10
            )
        np.testing.assert_array_equal(mask_t.numpy(), mask_np)
    for key, value in ref.episode_metrics().items():
        np.testing.assert_allclose(tch.episode_metrics()[key], value, rtol=rtol, err_msg=key)


def test_torch_index_bound_and_checks() -> None:
    env = BatchRiceEnv(num_envs=2, backend="torch")
    env.reset()
    f = torch.zeros((2, N, 57), dtype=torch.float64)
    f[..., 0] = 1.0
    for _ in range(20):
        env.step_unchecked(f)
    np.testing.assert_allclose(env.episode_metrics()["temperature_rise"], 7.006739, rtol=1e-5)
    env.reset()
    with pytest.raises(InvalidActionError, match="out of range"):
        env.step(torch.full((2, N, 57), 10))
    with pytest.raises(ValueError, match="numpy backend runs on the CPU"):
        BatchRiceEnv(backend="numpy", device="cuda")
