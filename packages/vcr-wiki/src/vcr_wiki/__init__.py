"""The Visual Caption Restoration (VCR) dataset builder and its evaluation."""

__version__ = "0.1.0"

__all__ = ["__version__"]
