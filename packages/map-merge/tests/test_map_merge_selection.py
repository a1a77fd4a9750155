"""Linear-time top-k by magnitude: exactly k kept, the same entries as a sort, over chunks."""

from __future__ import annotations

import torch

from map_merge.merge import _tensor_rule
from map_merge.selection import chunk_thresholds, keep_rule, top_k_thresholds


def as_mask(chunk: torch.Tensor, rule: tuple) -> torch.Tensor:
    """The boolean mask of a chunk's kept entries under a (bounds, extra positions) rule."""
    bounds, extra = rule
    keep = chunk.abs() >= bounds
    for row, positions in extra.items():
        keep[row, torch.from_numpy(positions)] = True
    return keep


def rows_with_ties(n: int = 3000) -> torch.Tensor:
    return torch.randint(-40, 41, (3, n), generator=torch.Generator().manual_seed(0)).float() * 0.125


def test_per_tensor_keep_equals_a_stable_descending_argsort_even_with_straddling_ties() -> None:
    deltas = rows_with_ties()
    for density in (0.01, 0.3, 0.77):
        k = max(1, int(density * deltas.shape[1]))
        found = chunk_thresholds(deltas, k)
        other = top_k_thresholds(lambda: [deltas], k, 3)
        assert any(found.straddling) and torch.equal(found.values, other.values) and found[1:] == other[1:]
        expected = torch.zeros_like(deltas, dtype=torch.bool)
        for row in range(3):
            expected[row, deltas[row].abs().argsort(descending=True, stable=True)[:k]] = True
        rule = _tensor_rule(deltas, density)
        assert rule[1] and torch.equal(as_mask(deltas, rule), expected)


def test_model_wide_keep_over_chunks_takes_ties_lowest_position_first() -> None:
    deltas = rows_with_ties()
    chunks = [deltas[:, :700], deltas[:, 700:701], deltas[:, 701:]]
    for k in (1, 450, 2999, 3000):
        found = top_k_thresholds(lambda: chunks, k, 3)
        take = list(found.take_equal)
        keep = torch.cat([as_mask(c, keep_rule(c, found, i, take)) for i, c in enumerate(chunks)], dim=1)
        expected = torch.zeros_like(deltas, dtype=torch.bool)
        for row in range(3):
            expected[row, deltas[row].abs().argsort(descending=True, stable=True)[:k]] = True
        assert torch.equal(keep, expected) and take == [0, 0, 0]


def test_per_tensor_rule_without_straddling_ties_is_a_bound() -> None:
    deltas = torch.randn(3, 5000, generator=torch.Generator().manual_seed(3))
    bounds, extra = _tensor_rule(deltas, 0.1)
    assert not extra and torch.equal((deltas.abs() >= bounds).sum(1), torch.tensor([500, 500, 500]))
