"""The masking RLModule: the built-in :class:`~rice_n.train.SharedPolicy` network inside RLlib (needs ray).

The module's torch network *is* a ``SharedPolicy`` (same layers, same names), so its weights export
unchanged to ``policy.safetensors`` and ``rice-n evaluate`` / ``compare`` read an RLlib run as a built-in
one. Masked levels get the built-in policy's logit of -1e9 before RLlib builds the action distribution
(one categorical per action dim), so their probability is exactly 0 and they are never sampled, in every
forward pass (exploration, inference, training). In a negotiation stage the dims that the stage does not
use are pinned to their lowest allowed level (the env ignores them): they add nothing to log-probabilities or entropy, as
the built-in trainer's ``stage_dims`` weighting.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from ray.rllib.core.columns import Columns
from ray.rllib.core.distribution.torch.torch_distribution import TorchMultiCategorical
from ray.rllib.core.rl_module.apis.value_function_api import ValueFunctionAPI
from ray.rllib.core.rl_module.torch import TorchRLModule

from rice_n.train.policy import MASKED_LOGIT, ObsSplit, SharedPolicy


class MaskedSharedPolicyModule(TorchRLModule, ValueFunctionAPI):
    """A PPO-ready RLModule around ``SharedPolicy``; ``model_config`` = ``{"split": [N, S, P], "hidden"}``."""

    def setup(self) -> None:
        """Build the network and the (flat logit -> action dim, level) lookup used by the stage mask."""
        model_config: Any = self.model_config  # a dict here (RLlib types it loosely)
        space: Any = self.action_space
        n, s, p = (int(v) for v in model_config["split"])
        nvec = np.asarray(space.nvec, dtype=np.int64)
        self.net = SharedPolicy(ObsSplit(n, s, p), nvec, tuple(model_config["hidden"]))
        self.action_dist_cls = TorchMultiCategorical.get_partial_dist_cls(  # type: ignore[misc]
            input_lens=nvec.tolist()
        )
        dim_of = np.repeat(np.arange(nvec.size), nvec)
        starts = np.concatenate([[0], np.cumsum(nvec)[:-1]])
        self.register_buffer("dim_of_logit", torch.as_tensor(dim_of), persistent=False)
        self.register_buffer("dim_start", torch.as_tensor(starts), persistent=False)

    def _logits_values(self, obs: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        logits, values = self.net(obs["features"])
        allowed = obs["action_mask"] > 0.5
        # rank of each allowed level within its dim (1 = the lowest allowed level)
        count = allowed.long().cumsum(-1)
        before = torch.nn.functional.pad(count, (1, 0))[..., self.dim_start]
        lowest = allowed & (count - before[..., self.dim_of_logit] == 1)
        allowed = torch.where(obs["active_dims"][..., self.dim_of_logit] > 0.5, allowed, lowest)
        return logits.masked_fill(~allowed, MASKED_LOGIT), values

    def _forward(self, batch: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        """Masked logits (exploration and inference)."""
        logits, _ = self._logits_values(batch[Columns.OBS])
        return {Columns.ACTION_DIST_INPUTS: logits}

    def _forward_train(self, batch: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        """Masked logits, and the values as embeddings (one forward pass for the PPO loss)."""
        logits, values = self._logits_values(batch[Columns.OBS])
        return {Columns.ACTION_DIST_INPUTS: logits, Columns.EMBEDDINGS: values}

    def compute_values(self, batch: dict[str, Any], embeddings: Any = None) -> torch.Tensor:
        """State values ``(B,)`` (from ``_forward_train``'s embeddings when given)."""
        values: torch.Tensor = (
            embeddings if embeddings is not None else self.net(batch[Columns.OBS]["features"])[1]
        )
        return values
