"""The Visual Caption Restoration (VCR) dataset builder and its evaluation.

``vcr_wiki.builder``: read local image-caption pairs, render the caption below the image with upstream's
geometry, choose the hidden n-grams, mask them (easy/hard) and write Parquet shards with the published
columns. ``vcr_wiki.eval``: score any runner (a local VLM through transformers, Tesseract OCR, the oracle)
with upstream's metric or lmms-eval's variant. ``vcr_wiki.tokens``: the tokenizer both use.
"""

__version__ = "0.1.1"

from vcr_wiki.builder import BuildConfig, InputSpec, SampleMaker, build_dataset
from vcr_wiki.eval import EvalConfig, evaluate, load_eval_samples, score_blank, score_sample
from vcr_wiki.tokens import get_tokenizer

__all__ = [
    "BuildConfig",
    "EvalConfig",
    "InputSpec",
    "SampleMaker",
    "__version__",
    "build_dataset",
    "evaluate",
    "get_tokenizer",
    "load_eval_samples",
    "score_blank",
    "score_sample",
]
