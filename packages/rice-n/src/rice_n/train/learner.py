"""Shared pieces of the learners: flattening a rollout into minibatches and the actor-critic terms."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from rice_n.train.policy import SharedPolicy, StageGroup, log_prob_entropy, log_softmax_levels
from rice_n.train.rollout import Rollout, gae


@dataclass
class Samples:
    """A rollout flattened over (T x B) env steps, each holding the N regions."""

    shared: torch.Tensor
    private: torch.Tensor
    mask: torch.Tensor
    actions: torch.Tensor
    logp: torch.Tensor
    adv: torch.Tensor
    targets: torch.Tensor
    dims: torch.Tensor  # (E, 1, D) weight of each action dim
    stage: torch.Tensor  # (E,) stage of each row
    groups: tuple[StageGroup, ...] | None = None  # per-stage dims (see policy.stage_groups)

    def __len__(self) -> int:
        return int(self.shared.shape[0])

    def take(self, idx: torch.Tensor) -> Samples:
        """The rows ``idx``."""
        names = [f for f in self.__dataclass_fields__ if f != "groups"]
        return Samples(**{f: getattr(self, f)[idx] for f in names}, groups=self.groups)


def flatten(
    ro: Rollout,
    dims: torch.Tensor,
    gamma: float,
    lam: float,
    normalize: bool,
    groups: tuple[StageGroup, ...] | None = None,
) -> Samples:
    """GAE on the rollout, then flatten time and envs; ``dims`` is ``(n_stages, D)``."""
    adv, targets = gae(ro.rewards, ro.values, gamma, lam)
    if normalize:
        adv = (adv - adv.mean()) / (adv.std() + 1e-8)
    t, b = ro.rewards.shape[:2]
    e = t * b
    stage_dims = dims[ro.stages][:, None, None, :].expand(t, b, 1, dims.shape[-1])
    return Samples(
        shared=ro.shared.reshape(e, *ro.shared.shape[2:]),
        private=ro.private.reshape(e, *ro.private.shape[2:]),
        mask=ro.mask.reshape(e, *ro.mask.shape[2:]),
        actions=ro.actions.reshape(e, *ro.actions.shape[2:]),
        logp=ro.logp.reshape(e, -1),
        adv=adv.reshape(e, -1),
        targets=targets.reshape(e, -1),
        dims=stage_dims.reshape(e, 1, -1),
        stage=ro.stages[:, None].expand(t, b).reshape(e),
        groups=groups,
    )


def evaluate_actions(policy: SharedPolicy, mb: Samples) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Log-probabilities, entropies and values ``(E, N)`` of the minibatch's actions under ``policy``.

    With ``mb.groups`` the rows of each stage get only their stage's logits (same values, less work).
    """
    if mb.groups is None:
        logits, values = policy.forward_split(mb.shared, mb.private)
        padded = policy.padded(logits, mb.mask)
        logp, ent = log_prob_entropy(padded, mb.actions, mb.dims)
        return logp, ent, values
    h = policy.hidden_split(mb.shared, mb.private)
    values = policy.value(h).squeeze(-1)
    if len(mb.groups) == 1:
        return (*_group_terms(policy, h, mb.mask, mb.actions, mb.groups[0]), values)
    logp = values.new_zeros(values.shape)
    ent = values.new_zeros(values.shape)
    for stage, g in enumerate(mb.groups):
        idx = torch.nonzero(mb.stage == stage).squeeze(1)
        if idx.numel() == 0:
            continue
        lp, en = _group_terms(policy, h[idx], mb.mask[idx], mb.actions[idx], g)
        logp = logp.index_copy(0, idx, lp)
        ent = ent.index_copy(0, idx, en)
    return logp, ent, values


def _group_terms(
    policy: SharedPolicy, h: torch.Tensor, mask: torch.Tensor, actions: torch.Tensor, g: StageGroup
) -> tuple[torch.Tensor, torch.Tensor]:
    """Log-probability and entropy ``(E, N)`` of one stage's dims."""
    logp_all = log_softmax_levels(policy.group_logits(h, g, mask))
    taken = actions[..., g.d0 : g.d1].long().unsqueeze(-1)
    logp = logp_all.gather(-1, taken).squeeze(-1).sum(-1)
    ent = -(logp_all.exp() * logp_all).sum((-1, -2))
    return logp, ent


def apply_gradients(
    policy: SharedPolicy, optimizer: torch.optim.Optimizer, loss: torch.Tensor, grad_clip: float
) -> float:
    """One optimizer step with global-norm gradient clipping; returns the gradient norm before clipping."""
    optimizer.zero_grad(set_to_none=True)
    loss.backward()  # type: ignore[no-untyped-call]
    norm = torch.nn.utils.clip_grad_norm_(policy.parameters(), grad_clip)
    optimizer.step()
    return float(norm)
