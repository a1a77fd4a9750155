"""Side-by-side pictures of samples for a person to look at: original (unmasked), easy, hard."""

from __future__ import annotations

import dataclasses
import io
import os
from itertools import islice
from pathlib import Path

import numpy as np
from PIL import Image

from vcr_wiki._io import atomic_write_bytes
from vcr_wiki._marker import check_folder, claim
from vcr_wiki.builder.inputs import InputSpec, check_input, read_pairs
from vcr_wiki.builder.sample import BuildConfig, RenderedSample, SampleMaker

GAP = 8


def side_by_side(panels: list[np.ndarray], gap: int = GAP) -> np.ndarray:
    """RGB panels placed left to right on a light grey canvas, top-aligned."""
    h = max(p.shape[0] for p in panels)
    w = sum(p.shape[1] for p in panels) + gap * (len(panels) + 1)
    canvas = np.full((h + 2 * gap, w, 3), 200, dtype=np.uint8)
    x = gap
    for p in panels:
        canvas[gap : gap + p.shape[0], x : x + p.shape[1]] = p
        x += p.shape[1] + gap
    return canvas


def show_samples(
    spec: InputSpec | str | os.PathLike[str],
    out: str | os.PathLike[str],
    config: BuildConfig | None = None,
    count: int = 4,
) -> list[Path]:
    """Write ``show-<question_id>.png`` (original | easy | hard stacked images) for the first usable rows."""
    if not isinstance(spec, InputSpec):
        spec = InputSpec(str(spec))
    config = config or BuildConfig()
    easy = SampleMaker(dataclasses.replace(config, difficulty="easy"))
    hard = SampleMaker(dataclasses.replace(config, difficulty="hard"))
    out = Path(out)
    check_input(spec)
    check_folder(out, "show")  # a folder of other files is refused before anything is written
    written: list[Path] = []
    for pair in islice(read_pairs(spec), 50 * count):
        a, b = easy.render(pair), hard.render(pair)
        if not isinstance(a, RenderedSample) or not isinstance(b, RenderedSample):
            continue
        canvas = side_by_side([a.stacked(masked=False), a.stacked(), b.stacked()])
        buf = io.BytesIO()
        Image.fromarray(canvas).save(buf, "PNG")
        path = out / f"show-{pair.index:06d}.png"
        if not written:
            claim(out, "show")
        atomic_write_bytes(path, buf.getvalue())
        written.append(path)
        if len(written) >= count:
            break
    return written
