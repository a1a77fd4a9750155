"""The VCR dataset builder: inputs, rendering, n-grams, masks, PNG rows, sharded and resumable builds."""

from vcr_wiki.builder.builder import build_dataset, shard_name
from vcr_wiki.builder.inputs import InputSpec, Pair, read_pairs
from vcr_wiki.builder.masks import BANDS
from vcr_wiki.builder.render import TextRenderer
from vcr_wiki.builder.sample import BuildConfig, RenderedSample, SampleMaker
from vcr_wiki.builder.show import show_samples

__all__ = [
    "BANDS",
    "BuildConfig",
    "InputSpec",
    "Pair",
    "RenderedSample",
    "SampleMaker",
    "TextRenderer",
    "build_dataset",
    "read_pairs",
    "shard_name",
    "show_samples",
]
