"""One-shot random pruning (static sparsity) for deep-RL networks, agents and plasticity diagnostics.

Implements Ma et al., *Network Sparsity Unlocks the Scaling Potential of Deep Reinforcement Learning*
(ICML 2025, arXiv 2506.17204) in PyTorch.
"""

__version__ = "0.1.0"

from sparse_drl.allocation import erk_densities, uniform_densities
from sparse_drl.diagnostics import (
    dormant_ratio,
    effective_rank,
    grad_norm,
    gradient_interference,
    pruned_zero_fraction,
    stable_rank,
    weight_norm,
)
from sparse_drl.masking import apply_masks, mask_gradients, register_masks
from sparse_drl.networks import BroEncoder, RunningNorm, SimBaEncoder, make_encoder
from sparse_drl.optim import make_optimizer
from sparse_drl.sparsify import (
    DensityReport,
    SparseLinear,
    density_report,
    layer_densities,
    load_sparse_state_dict,
    sparsify,
)

__all__ = [
    "BroEncoder",
    "DensityReport",
    "RunningNorm",
    "SimBaEncoder",
    "SparseLinear",
    "__version__",
    "apply_masks",
    "density_report",
    "dormant_ratio",
    "effective_rank",
    "erk_densities",
    "grad_norm",
    "gradient_interference",
    "layer_densities",
    "load_sparse_state_dict",
    "make_encoder",
    "make_optimizer",
    "mask_gradients",
    "pruned_zero_fraction",
    "register_masks",
    "sparsify",
    "stable_rank",
    "uniform_densities",
    "weight_norm",
]
