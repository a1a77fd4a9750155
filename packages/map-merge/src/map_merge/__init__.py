"""Model merging with an amortized Pareto front (MAP): quadratic surrogates, Bayesian and nested variants."""

__version__ = "0.1.0"

__all__ = ["__version__"]
