"""Control datasets for the evaluation: the same samples with the masks left off.

``write_unmasked_copy`` re-renders every row's kept caption with the build's font settings (stored in the
row's ``config``) and writes a dataset whose ``stacked_image`` and ``only_it_image`` show the whole text.
Scoring a reader (the OCR baseline) on it gives the ceiling that the masks then take away.
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from vcr_wiki._io import atomic_write_bytes, atomic_write_text

__all__ = ["write_unmasked_copy"]


def _png(rgb: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def write_unmasked_copy(
    dataset: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    font: str | os.PathLike[str] | None = None,
) -> Path:
    """Write ``out/data/*.parquet``: ``dataset``'s rows with unmasked stacked and text-only images.

    ``font`` overrides the font (default: the one the build found, by the same lookup). Raises ValueError
    when a re-rendered image does not have the size of the original (another font than the build's).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    from vcr_wiki.builder.render import TextRenderer, stack, text_only

    src, dst = Path(dataset), Path(out) / "data"
    shards = sorted(p for p in src.rglob("*.parquet") if not p.name.startswith("."))
    if not shards:
        raise FileNotFoundError(f"dataset folder {str(src)!r} holds no .parquet shards")
    dst.mkdir(parents=True, exist_ok=True)
    renderers: dict[tuple[Any, ...], TextRenderer] = {}
    for shard in shards:
        table = pq.read_table(shard)
        missing = [
            c
            for c in ("image", "caption", "stacked_image", "only_it_image", "lang")
            if c not in table.schema.names
        ]
        if missing:
            raise ValueError(f"{str(shard)!r} lacks the columns {missing}")
        rows = table.to_pylist()
        for r, row in enumerate(rows):
            cfg = json.loads(row["config"]) if row.get("config") else {}
            key = (row["lang"], cfg.get("font_size", 20), cfg.get("max_lines", 5))
            if key not in renderers:
                renderers[key] = TextRenderer(row["lang"], font, key[1], key[2])
            renderer = renderers[key]
            with Image.open(io.BytesIO(row["image"]["bytes"])) as im:
                picture = np.asarray(im.convert("RGB"))
            width = picture.shape[1]
            layout = renderer.layout(row["caption"], width)
            tei = renderer.render(layout, width)
            stacked = stack(picture, tei)
            with Image.open(io.BytesIO(row["stacked_image"]["bytes"])) as im:
                original_size = im.size
            if (stacked.shape[1], stacked.shape[0]) != original_size:
                raise ValueError(
                    f"{shard.name}: row {r} re-renders to {stacked.shape[1]}x{stacked.shape[0]}, not "
                    f"{original_size[0]}x{original_size[1]}; pass the build's font"
                )
            row["stacked_image"] = {"bytes": _png(stacked), "path": None}
            row["only_it_image"] = {"bytes": _png(np.asarray(text_only(tei, stacked.shape[0]))), "path": None}
        buf = io.BytesIO()
        pq.write_table(pa.Table.from_pylist(rows, schema=table.schema), buf)
        atomic_write_bytes(dst / shard.name, buf.getvalue())
    marker = {"control": "unmasked", "source": str(src.resolve()), "complete": True, "n_shards": len(shards)}
    atomic_write_text(Path(out) / "manifest.json", json.dumps(marker, indent=2) + "\n")
    return Path(out)
