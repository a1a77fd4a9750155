"""The Visual Caption Restoration (VCR) dataset builder and its evaluation.

Build side (this module's public API): read local image-caption pairs, render the caption below the
image with the paper's geometry, choose the hidden n-grams, mask them (easy/hard), and write Parquet
shards with the upstream columns.

Evaluation side: score any runner (``predict(images, prompts) -> texts``: a local VLM folder through
transformers, the Tesseract OCR baseline, the oracle, copy-visible-text) with the upstream metrics.
"""

__version__ = "0.1.0"

from vcr_wiki.build import build_dataset, shard_name
from vcr_wiki.controls import write_unmasked_copy
from vcr_wiki.evaluate import EvalConfig, EvalSample, evaluate, lmms_eval_task_name, load_eval_samples
from vcr_wiki.fonts import FontNotFoundError, find_zh_font, resolve_font, shipped_en_font
from vcr_wiki.inputs import InputSpec, Pair, count_pairs, load_image, read_pairs
from vcr_wiki.masks import BANDS, apply_masks, band, span_rectangles
from vcr_wiki.metrics import (
    BlankScore,
    aggregate_scores,
    bootstrap_mean,
    is_refusal,
    score_blank,
    score_sample,
)
from vcr_wiki.metrics import get_tokenizer as metric_tokenizer
from vcr_wiki.ngrams import Token, get_tokenizer, sample_rng, select_ngrams
from vcr_wiki.png import encode_png
from vcr_wiki.render import TextLayout, TextRenderer, stack, text_only
from vcr_wiki.report import PAPER_REFERENCE, render_report
from vcr_wiki.runners import (
    CopyVisibleTextRunner,
    OracleRunner,
    Runner,
    TesseractRunner,
    TransformersRunner,
    tesseract_available,
)
from vcr_wiki.sample import BuildConfig, RenderedSample, SampleMaker
from vcr_wiki.sample_data import draw_scene, sample_captions, write_sample_pairs
from vcr_wiki.scaleout import build_with_datasets
from vcr_wiki.show import show_samples

__all__ = [
    "BANDS",
    "PAPER_REFERENCE",
    "BlankScore",
    "BuildConfig",
    "CopyVisibleTextRunner",
    "EvalConfig",
    "EvalSample",
    "FontNotFoundError",
    "InputSpec",
    "OracleRunner",
    "Pair",
    "RenderedSample",
    "Runner",
    "SampleMaker",
    "TesseractRunner",
    "TextLayout",
    "TextRenderer",
    "Token",
    "TransformersRunner",
    "__version__",
    "aggregate_scores",
    "apply_masks",
    "band",
    "bootstrap_mean",
    "build_dataset",
    "build_with_datasets",
    "count_pairs",
    "draw_scene",
    "encode_png",
    "evaluate",
    "find_zh_font",
    "get_tokenizer",
    "is_refusal",
    "lmms_eval_task_name",
    "load_eval_samples",
    "load_image",
    "metric_tokenizer",
    "read_pairs",
    "render_report",
    "resolve_font",
    "sample_captions",
    "sample_rng",
    "score_blank",
    "score_sample",
    "select_ngrams",
    "shard_name",
    "shipped_en_font",
    "show_samples",
    "span_rectangles",
    "stack",
    "tesseract_available",
    "text_only",
    "write_sample_pairs",
    "write_unmasked_copy",
]
