"""Linear-time top-k by magnitude: exactly k kept, the same entries as a sort, over chunks."""

from __future__ import annotations

import torch

from map_merge.merge import _tensor_keep
from map_merge.selection import keep_mask, top_k_thresholds


def rows_with_ties(n: int = 3000) -> torch.Tensor:
    return torch.randint(-40, 41, (3, n), generator=torch.Generator().manual_seed(0)).float() * 0.125


def test_per_tensor_keep_equals_a_descending_argsort_even_with_straddling_ties() -> None:
    deltas = rows_with_ties()
    for density in (0.01, 0.3, 0.77):
        k = max(1, int(density * deltas.shape[1]))
        assert any(top_k_thresholds(lambda: [deltas], k, 3).straddling)
        expected = torch.zeros_like(deltas, dtype=torch.bool)
        for row in range(3):
            expected[row, deltas[row].abs().argsort(descending=True)[:k]] = True
        assert torch.equal(_tensor_keep(deltas, density), expected)


def test_model_wide_keep_over_chunks_takes_ties_lowest_position_first() -> None:
    deltas = rows_with_ties()
    chunks = [deltas[:, :700], deltas[:, 700:701], deltas[:, 701:]]
    for k in (1, 450, 2999, 3000):
        found = top_k_thresholds(lambda: chunks, k, 3)
        take = list(found.take_equal)
        keep = torch.cat([keep_mask(chunk, found.values, take) for chunk in chunks], dim=1)
        expected = torch.zeros_like(deltas, dtype=torch.bool)
        for row in range(3):
            expected[row, deltas[row].abs().argsort(descending=True, stable=True)[:k]] = True
        assert torch.equal(keep, expected) and take == [0, 0, 0]
