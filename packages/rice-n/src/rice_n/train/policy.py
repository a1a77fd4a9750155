"""The shared policy: one MLP for all regions (region id = the one-hot part of the observation).

The trunk is upstream's FC [256, 256] ReLU with one categorical head per action dim (all heads in one
linear layer of ``sum(nvec)`` logits) and a value head. Masked levels get a logit of -1e9, so they have
probability 0 and are never sampled.

The first layer is computed in three parts: the features every region shares (global and public,
identical across the N regions of an episode) once per episode, the region's one-hot id as a column
lookup, and the private features per region. This is exactly ``Linear(obs)`` on the full observation,
about N times cheaper on its largest part.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

MASKED_LOGIT = -1e9


@dataclass(frozen=True)
class ObsSplit:
    """Where the parts of a ``(B, N, F)`` observation lie: ``[one-hot N | shared S | private P]``."""

    n_agents: int
    shared_dim: int
    private_dim: int

    @property
    def obs_dim(self) -> int:
        """Total features F."""
        return self.n_agents + self.shared_dim + self.private_dim

    @classmethod
    def from_env(cls, env: Any) -> ObsSplit:
        """The split of a :class:`rice_n.BatchRiceEnv`'s observations."""
        n, lay = env.n_agents, env.layout
        return cls(n_agents=n, shared_dim=lay.obs_dim - n - lay.private_dim, private_dim=lay.private_dim)

    def split(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``obs (B, N, F)`` -> shared ``(B, S)`` (taken from region 0) and private ``(B, N, P)``."""
        n, s = self.n_agents, self.shared_dim
        return obs[:, 0, n : n + s], obs[:, :, n + s :]


def stage_dim_mask(env: Any) -> np.ndarray:
    """``(n_stages, D)`` bool: which action dims each stage uses (all dims for unknown protocols).

    Bilateral negotiation (upstream): stage 0 (activity) uses the 3 + 2N activity dims, stage 1
    (proposal) the 2N proposal dims, stage 2 (evaluation) the N accept dims.
    """
    lay, n_stages, d = env.layout, env.n_stages, env.n_actions
    out = np.ones((n_stages, d), dtype=bool)
    n, a = env.n_agents, lay.n_activity
    if n_stages == 1:
        return out
    if getattr(env.protocol, "name", "") == "bilateral" and n_stages == 3 and d == a + 3 * n:
        out[:] = False
        out[0, :a] = True
        out[1, a : a + 2 * n] = True
        out[2, a + 2 * n :] = True
    return out


@dataclass(frozen=True)
class StageGroup:
    """The action dims one stage uses: dims ``d0..d1-1``, each of ``levels`` levels, at flat logits
    ``lo..hi-1`` (``hi - lo = (d1 - d0) * levels``)."""

    d0: int
    d1: int
    levels: int
    lo: int
    hi: int


def stage_groups(dims: np.ndarray, nvec: Any) -> tuple[StageGroup, ...] | None:
    """One :class:`StageGroup` per stage when every stage uses a contiguous run of dims of equal size.

    Then a stage's logits, sampling, log-probabilities and entropies need only its own dims (upstream's
    bilateral protocol: 570 activity logits, 540 proposal logits, 54 accept logits instead of 1,164 at
    every step). ``None`` when some stage's dims are scattered or of mixed sizes (the general path).
    """
    nvec = np.asarray(nvec, dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(nvec)])
    out = []
    for row in np.asarray(dims, dtype=bool):
        idx = np.flatnonzero(row)
        if idx.size == 0 or idx[-1] - idx[0] + 1 != idx.size or (nvec[idx] != nvec[idx[0]]).any():
            return None
        d0, d1 = int(idx[0]), int(idx[-1]) + 1
        out.append(StageGroup(d0, d1, int(nvec[d0]), int(offsets[d0]), int(offsets[d1])))
    return tuple(out)


class SharedPolicy(nn.Module):
    """One actor-critic for all regions: logits ``(B, N, sum(nvec))`` and values ``(B, N)``."""

    gather_index: torch.Tensor  # a registered buffer: (flat logit or pad) index of each (dim, level)

    def __init__(self, split: ObsSplit, nvec: Any, hidden: tuple[int, ...] = (256, 256)) -> None:
        super().__init__()
        self.split = split
        nvec = np.asarray(nvec, dtype=np.int64)
        if nvec.ndim != 1 or nvec.size == 0 or (nvec < 2).any():
            raise ValueError(f"nvec must be a non-empty list of sizes >= 2, got {nvec.tolist()!r}")
        self.nvec = nvec
        self.hidden = tuple(int(h) for h in hidden)
        self.first = nn.Linear(split.obs_dim, self.hidden[0])
        layers: list[nn.Module] = []
        for h_in, h_out in itertools.pairwise(self.hidden):
            layers += [nn.ReLU(), nn.Linear(h_in, h_out)]
        layers.append(nn.ReLU())
        self.trunk = nn.Sequential(*layers)
        self.logits = nn.Linear(self.hidden[-1], int(nvec.sum()))
        self.value = nn.Linear(self.hidden[-1], 1)
        # gather index (D, L): flat logit position of level l of dim d; padding points at a -1e9 column
        lmax, m = int(nvec.max()), int(nvec.sum())
        offsets = np.concatenate([[0], np.cumsum(nvec)[:-1]])
        idx = offsets[:, None] + np.arange(lmax)[None, :]
        idx = np.where(np.arange(lmax)[None, :] < nvec[:, None], idx, m)
        self.register_buffer("gather_index", torch.as_tensor(idx, dtype=torch.long), persistent=False)
        self.uniform = bool((nvec == nvec[0]).all())
        nn.init.orthogonal_(self.logits.weight, gain=0.01)
        nn.init.zeros_(self.logits.bias)

    def hidden_split(self, shared: torch.Tensor, private: torch.Tensor) -> torch.Tensor:
        """The trunk's output ``(B, N, H)`` from shared ``(B, S)`` and private ``(B, N, P)`` features."""
        n, s = self.split.n_agents, self.split.shared_dim
        w, b = self.first.weight, self.first.bias
        h = (shared @ w[:, n : n + s].T)[:, None, :] + w[:, :n].T[None] + b
        if self.split.private_dim:
            h = h + private @ w[:, n + s :].T
        out: torch.Tensor = self.trunk(h)
        return out

    def forward_split(self, shared: torch.Tensor, private: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Logits ``(B, N, M)`` and values ``(B, N)`` from shared ``(B, S)`` and private ``(B, N, P)``."""
        h = self.hidden_split(shared, private)
        return self.logits(h), self.value(h).squeeze(-1)

    def group_logits(self, h: torch.Tensor, group: StageGroup, mask: torch.Tensor | None) -> torch.Tensor:
        """Masked logits ``(..., d1 - d0, levels)`` of one stage's dims from the trunk output ``h``.

        ``mask`` is the flat mask ``(..., M)`` (bool) or None.
        """
        w, b = self.logits.weight[group.lo : group.hi], self.logits.bias[group.lo : group.hi]
        logits = torch.nn.functional.linear(h, w, b)
        if mask is not None:
            m = mask[..., group.lo : group.hi]
            if not bool(m.all()):
                logits = logits.masked_fill(~m, MASKED_LOGIT)
        return logits.view(*logits.shape[:-1], group.d1 - group.d0, group.levels)

    def forward(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Logits and values from full observations ``(B, N, F)`` (or ``(..., F)`` rows, generic path)."""
        h = self.trunk(self.first(obs))
        return self.logits(h), self.value(h).squeeze(-1)

    def padded(self, logits: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        """Flat logits ``(..., M)`` and flat mask -> masked per-dim logits ``(..., D, L)``."""
        if mask is not None and not bool(mask.all()):  # all-ones masks (no negotiation): nothing to do
            logits = logits.masked_fill(~mask.bool(), MASKED_LOGIT)
        if self.uniform:  # every dim has the same number of levels: a view, no padding
            return logits.view(*logits.shape[:-1], int(self.nvec.size), int(self.nvec[0]))
        pad = logits.new_full((*logits.shape[:-1], 1), MASKED_LOGIT)
        return torch.cat([logits, pad], -1)[..., self.gather_index]


def sample_actions(
    padded: torch.Tensor, generator: torch.Generator | None, greedy: bool = False
) -> torch.Tensor:
    """Sample one level per dim from masked logits ``(..., D, L)`` (Gumbel-max); ``greedy`` = argmax."""
    if greedy:
        return padded.argmax(-1)
    u = torch.rand(padded.shape, generator=generator, device=padded.device, dtype=padded.dtype)
    gumbel = -torch.log(-torch.log(u.clamp(1e-20, 1.0 - 1e-7)))
    return (padded + gumbel).argmax(-1)


def log_softmax_levels(padded: torch.Tensor) -> torch.Tensor:
    """``log_softmax`` over the levels (last axis) of ``(..., D, L)``.

    Computed over the transposed tensor: torch's CPU kernel is slow on a short last axis (10 levels);
    this cuts the CPU time of a learner step (forward + backward, FC [256, 256]) by about a quarter.
    """
    return torch.log_softmax(padded.transpose(-1, -2), -2).transpose(-1, -2)


def log_prob_entropy(
    padded: torch.Tensor, actions: torch.Tensor, dims: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Log-probability and entropy, summed over the action dims (only ``dims`` (..., D) if given)."""
    logp_all = log_softmax_levels(padded)
    logp = logp_all.gather(-1, actions.long().unsqueeze(-1)).squeeze(-1)
    ent = -(logp_all.exp() * logp_all).sum(-1)
    if dims is not None:
        logp = logp * dims
        ent = ent * dims
    return logp.sum(-1), ent.sum(-1)
