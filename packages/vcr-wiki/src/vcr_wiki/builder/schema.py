"""The Parquet schema of a VCR shard: upstream column names, images in the ``datasets`` Image layout."""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa

IMAGE_TYPE = pa.struct([("bytes", pa.binary()), ("path", pa.string())])
IMAGE_COLUMNS = ("image", "stacked_image", "only_it_image", "only_it_image_small")
COLUMNS = (
    "question_id",
    "image",
    "caption",
    "stacked_image",
    "only_it_image",
    "only_it_image_small",
    "crossed_text",
    "lang",
    "difficulty",
    "config",
)

_VALUE = {"dtype": "string", "_type": "Value"}
HF_FEATURES: dict[str, dict[str, Any]] = {
    "question_id": {"dtype": "int64", "_type": "Value"},
    "image": {"_type": "Image"},
    "caption": _VALUE,
    "stacked_image": {"_type": "Image"},
    "only_it_image": {"_type": "Image"},
    "only_it_image_small": {"_type": "Image"},
    "crossed_text": {"feature": _VALUE, "_type": "Sequence"},
    "lang": _VALUE,
    "difficulty": _VALUE,
    "config": _VALUE,
}


# PNG bytes are already deflated: storing them uncompressed saves time at no cost in size.
COMPRESSION = {
    "question_id": "zstd",
    "image.bytes": "none",
    "image.path": "zstd",
    "caption": "zstd",
    "stacked_image.bytes": "none",
    "stacked_image.path": "zstd",
    "only_it_image.bytes": "none",
    "only_it_image.path": "zstd",
    "only_it_image_small.bytes": "none",
    "only_it_image_small.path": "zstd",
    "crossed_text.list.element": "zstd",
    "lang": "zstd",
    "difficulty": "zstd",
    "config": "zstd",
}


def arrow_schema() -> pa.Schema:
    """Arrow schema of a shard, with the ``datasets`` feature types in its metadata."""
    fields = [
        pa.field("question_id", pa.int64()),
        pa.field("image", IMAGE_TYPE),
        pa.field("caption", pa.string()),
        pa.field("stacked_image", IMAGE_TYPE),
        pa.field("only_it_image", IMAGE_TYPE),
        pa.field("only_it_image_small", IMAGE_TYPE),
        pa.field("crossed_text", pa.list_(pa.string())),
        pa.field("lang", pa.string()),
        pa.field("difficulty", pa.string()),
        pa.field("config", pa.string()),
    ]
    meta = {"huggingface": json.dumps({"info": {"features": HF_FEATURES}})}
    return pa.schema(fields, metadata=meta)
