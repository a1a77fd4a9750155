"""The RICE-N multi-region climate-economy simulator, negotiation protocols and multi-agent RL."""

__version__ = "0.1.0"

__all__ = ["__version__"]
