"""The transposed log-softmax over action levels equals torch's, values and gradients, masked levels too."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from rice_n.train.policy import MASKED_LOGIT, log_softmax_levels  # noqa: E402


def test_log_softmax_levels_equals_last_axis_log_softmax() -> None:
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(3, 27, 57, 10, generator=gen, dtype=torch.float64) * 5
    x[..., 1, :4] = MASKED_LOGIT  # masked mitigation levels
    a = x.clone().requires_grad_(True)
    b = x.clone().requires_grad_(True)
    fa, fb = log_softmax_levels(a), torch.log_softmax(b, -1)
    assert fa.shape == x.shape
    torch.testing.assert_close(fa, fb, rtol=1e-12, atol=1e-9)
    w = torch.rand(x.shape, generator=gen, dtype=torch.float64)
    (fa * w).sum().backward()
    (fb * w).sum().backward()
    torch.testing.assert_close(a.grad, b.grad, rtol=1e-10, atol=1e-10)
