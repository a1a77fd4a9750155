"""Gradient-flow interventions that let deep-RL networks scale in depth and width."""

__version__ = "0.1.0"

__all__ = ["__version__"]
