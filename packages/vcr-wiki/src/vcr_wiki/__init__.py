"""The Visual Caption Restoration (VCR) dataset builder and its evaluation.

Build side (this module's public API): read local image-caption pairs, render the caption below the
image with the paper's geometry, choose the hidden n-grams, mask them (easy/hard), and write Parquet
shards with the upstream columns.
"""

__version__ = "0.1.0"

from vcr_wiki.build import build_dataset, shard_name
from vcr_wiki.fonts import FontNotFoundError, find_zh_font, resolve_font, shipped_en_font
from vcr_wiki.inputs import InputSpec, Pair, count_pairs, load_image, read_pairs
from vcr_wiki.masks import BANDS, apply_masks, band, span_rectangles
from vcr_wiki.ngrams import Token, get_tokenizer, sample_rng, select_ngrams
from vcr_wiki.png import encode_png
from vcr_wiki.render import TextLayout, TextRenderer, stack, text_only
from vcr_wiki.sample import BuildConfig, RenderedSample, SampleMaker
from vcr_wiki.sample_data import draw_scene, sample_captions, write_sample_pairs
from vcr_wiki.scaleout import build_with_datasets
from vcr_wiki.show import show_samples

__all__ = [
    "BANDS",
    "BuildConfig",
    "FontNotFoundError",
    "InputSpec",
    "Pair",
    "RenderedSample",
    "SampleMaker",
    "TextLayout",
    "TextRenderer",
    "Token",
    "__version__",
    "apply_masks",
    "band",
    "build_dataset",
    "build_with_datasets",
    "count_pairs",
    "draw_scene",
    "encode_png",
    "find_zh_font",
    "get_tokenizer",
    "load_image",
    "read_pairs",
    "resolve_font",
    "sample_captions",
    "sample_rng",
    "select_ngrams",
    "shard_name",
    "shipped_en_font",
    "show_samples",
    "span_rectangles",
    "stack",
    "text_only",
    "write_sample_pairs",
]
