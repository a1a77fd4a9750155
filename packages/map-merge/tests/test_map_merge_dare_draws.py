"""DARE's masks: numpy's MT19937 in torch's seeded state yields torch.rand's numbers, for any seed."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from map_merge.merge import _dare_generators


@pytest.mark.parametrize("seed", [0, 5, -3, 2**32 + 7, 2**63 - 1])
def test_task_generators_continue_one_torch_rand_stream(seed: int) -> None:
    n = 1000
    expected = torch.rand((3, n), generator=torch.Generator().manual_seed(seed)).numpy()
    for row, generator in enumerate(_dare_generators(seed, 3, n)):
        low_bits = (generator.random_raw(n) & 0xFFFFFF).astype(np.float32) * np.float32(2**-24)
        assert np.array_equal(low_bits, expected[row])
