"""Linear-time top-k by magnitude over rows given in chunks (TIES's trim), with no sort. Over several
chunks, a histogram of the magnitudes' float bits finds the bin holding the k-th largest and an exact
selection inside that bin gives the threshold; in one chunk, ``numpy.partition`` gives it. Entries equal
to the threshold are kept in order (lowest position first) until exactly k are kept."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import NamedTuple

import numpy as np
import torch

_SHIFT = 16
_BINS = 1 << (31 - _SHIFT)  # |x| has a clear sign bit: its float32 bits are a non-negative int32

Chunks = Callable[[], Iterable[torch.Tensor]]


class Thresholds(NamedTuple):
    """Per row: the k-th largest magnitude, how many entries equal to it are kept (the first ones in row
    order), whether equal magnitudes straddle the threshold (some kept, some not), and per chunk how
    many entries equal the threshold (``equal[row][chunk]``)."""

    values: torch.Tensor
    take_equal: list[int]
    straddling: list[bool]
    equal: list[list[int]]


def _magnitude_bins(chunk: torch.Tensor) -> torch.Tensor:
    """The histogram bin of each |x| (the high bits of its float32 pattern, monotone in |x|)."""
    return chunk.abs().to(torch.float32).view(torch.int32) >> _SHIFT


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
    thresholds, take_equal, straddling, equal = [], [], [], []
    for row in range(n_rows):
        values = torch.cat(candidates[row])
        rank = k - above[row]  # the threshold is the rank-th largest value of the bin
        t = values.kthvalue(len(values) - rank + 1).values
        thresholds.append(t)
        take_equal.append(rank - int((values > t).sum()))
        equal.append([int((part == t).sum()) for part in candidates[row]])
        straddling.append(take_equal[-1] < sum(equal[-1]))
    return Thresholds(torch.stack(thresholds), take_equal, straddling, equal)


def chunk_thresholds(chunk: torch.Tensor, k: int) -> Thresholds:
    """``top_k_thresholds`` of a single chunk (n_rows, n): per row, ``numpy.partition`` (introselect) of the
    magnitudes in place in one reused buffer."""
    rows = chunk.numpy()
    n = rows.shape[1]
    magnitude = np.empty(n, dtype=rows.dtype)
    values, take, equal = [], [], []
    for row in rows:
        np.abs(row, out=magnitude).partition(n - k)  # [n - k] is the k-th largest; larger ones after it
        t = magnitude[n - k]
        take.append(k - int(np.count_nonzero(magnitude[n - k + 1 :] > t)))
        equal.append(int(np.count_nonzero(magnitude == t)))
        values.append(t)
    straddling = [a < e for a, e in zip(take, equal, strict=True)]
    return Thresholds(torch.from_numpy(np.array(values)), take, straddling, [[e] for e in equal])


def chunk_rule(
    chunk: torch.Tensor, found: Thresholds, index: int, left: list[int]
) -> tuple[torch.Tensor, list[int]]:
    """How to keep a chunk's entries: per row a lower bound (keep |x| >= bound) and the rows where only the
    first ``left[row]`` entries equal to the threshold are kept (partial rows, bound just above it).
    ``left`` (equal entries still to keep per row) is updated, so chunks must come in order."""
    bounds, partial = [], []
    for row, t in enumerate(found.values):
        equal = found.equal[row][index]
        if left[row] >= equal:
            bounds.append(t)
            left[row] -= equal
        else:
            bounds.append(torch.nextafter(t, t.new_tensor(float("inf"))))
            if left[row] > 0:
                partial.append(row)
    return torch.stack(bounds)[:, None], partial


def keep_rule(
    chunk: torch.Tensor, found: Thresholds, index: int, left: list[int]
) -> tuple[torch.Tensor, dict[int, np.ndarray]]:
    """A chunk's kept entries: |x| >= bounds[row] (``chunk_rule``), and in each partial row also the
    entries at the returned positions (the first ``left[row]`` equal to the threshold); ``left`` is
    updated."""
    bounds, partial = chunk_rule(chunk, found, index, left)
    rows = chunk.numpy()
    extra = {}
    for row in partial:
        t = found.values[row].item()
        extra[row] = np.flatnonzero((rows[row] == t) | (rows[row] == -t))[: left[row]]
        left[row] = 0
    return bounds, extra
