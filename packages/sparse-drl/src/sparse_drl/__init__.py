"""One-shot random pruning (static sparsity) for deep-RL networks, agents and plasticity diagnostics."""

__version__ = "0.1.0"

__all__ = ["__version__"]
