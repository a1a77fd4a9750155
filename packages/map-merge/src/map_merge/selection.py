"""Linear-time top-k by magnitude over rows given in chunks (TIES's trim), with no sort: a histogram of
the magnitudes' float bits finds the bin holding the k-th largest, and an exact selection inside that bin
gives the threshold. Entries equal to the threshold are kept in order (lowest position first, the order
of a stable descending sort) until exactly k are kept."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import NamedTuple

import torch

_SHIFT = 16
_BINS = 1 << (31 - _SHIFT)  # |x| has a clear sign bit: its float32 bits are a non-negative int32

Chunks = Callable[[], Iterable[torch.Tensor]]


def _magnitude_bins(chunk: torch.Tensor) -> torch.Tensor:
    """The histogram bin of each |x| (the high bits of its float32 pattern, monotone in |x|)."""
    return chunk.abs().to(torch.float32).view(torch.int32) >> _SHIFT


class Thresholds(NamedTuple):
    """Per row: the k-th largest magnitude, how many entries equal to it are kept (the first ones in row
    order), and whether equal magnitudes straddle the threshold (some kept, some not)."""

    values: torch.Tensor
    take_equal: list[int]
    straddling: list[bool]


def top_k_thresholds(chunks: Chunks, k: int, n_rows: int) -> Thresholds:
    """For rows of length >= k given as (n_rows, n_i) chunks (``chunks()`` yields them, in order, and is
    called twice): the k-th largest magnitude t of each row and how many entries equal to t belong to
    its k largest (the first ones in row order). Linear time; memory of one chunk plus one bin."""
    counts = torch.zeros((n_rows, _BINS), dtype=torch.int64)
    for chunk in chunks():
        bins = _magnitude_bins(chunk)
        for row in range(n_rows):
            counts[row] += torch.bincount(bins[row], minlength=_BINS)
    at_or_above = counts.flip(1).cumsum(1).flip(1)  # entries in this bin or higher
    target = (at_or_above >= k).sum(1) - 1  # highest bin reaching k entries
    above = [int(at_or_above[row, b + 1]) if b + 1 < _BINS else 0 for row, b in enumerate(target.tolist())]
    candidates: list[list[torch.Tensor]] = [[] for _ in range(n_rows)]
    for chunk in chunks():
        bins = _magnitude_bins(chunk)
        for row in range(n_rows):
            candidates[row].append(chunk[row].abs()[bins[row] == target[row]])
    thresholds, take_equal, straddling = [], [], []
    for row in range(n_rows):
        values = torch.cat(candidates[row])
        rank = k - above[row]  # the threshold is the rank-th largest value of the bin
        t = values.kthvalue(len(values) - rank + 1).values
        thresholds.append(t)
        take_equal.append(rank - int((values > t).sum()))
        straddling.append(take_equal[-1] < int((values == t).sum()))
    return Thresholds(torch.stack(thresholds), take_equal, straddling)


def keep_mask(chunk: torch.Tensor, thresholds: torch.Tensor, take_equal: list[int]) -> torch.Tensor:
    """Boolean mask of a (n_rows, n) chunk's kept entries: magnitude above the row's threshold, or equal to
    it while ``take_equal[row]`` (updated in place, so chunks must come in order) allows."""
    magnitude = chunk.abs()
    keep = magnitude > thresholds.to(magnitude.dtype)[:, None]
    for row, left in enumerate(take_equal):
        if left <= 0:
            continue
        positions = (magnitude[row] == thresholds[row]).nonzero()[:left, 0]
        keep[row, positions] = True
        take_equal[row] = left - len(positions)
    return keep
