"""Sample data shipped with the package: captions written for it and pictures drawn with Pillow."""

from __future__ import annotations

import io
import json
import os
from importlib import resources
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from vcr_wiki._io import atomic_write_bytes, atomic_write_text


def sample_captions(lang: str) -> list[str]:
    """The shipped sample captions of a language ('en': 32, 'zh': 24), one scene each."""
    if lang not in ("en", "zh"):
        raise ValueError(f"lang must be 'en' or 'zh', got {lang!r}")
    text = (resources.files("vcr_wiki") / "data" / f"sample_captions_{lang}.txt").read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip()]


def draw_scene(index: int, width: int = 300, height: int = 225) -> Image.Image:
    """A simple landscape (sky, hills, sun, buildings) drawn deterministically from ``index``."""
    rng = np.random.default_rng(1000 + index)
    y = np.linspace(0.0, 1.0, height)[:, None, None]
    top, bottom = rng.uniform(60, 200, 3), rng.uniform(150, 255, 3)
    sky = (top * (1 - y) + bottom * y) * np.ones((1, width, 1))
    img = Image.fromarray(sky.clip(0, 255).astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(img)
    r = int(rng.integers(12, 30))
    cx, cy = int(rng.integers(r, width - r)), int(rng.integers(r, height // 3))
    draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=tuple(int(v) for v in rng.integers(200, 256, 3)))
    for layer in range(3):
        base = height * (0.55 + 0.12 * layer)
        xs = np.linspace(0, width, 7)
        ys = base - rng.uniform(10, 60, 7)
        color = tuple(int(v) for v in rng.integers(30, 160, 3))
        draw.polygon([(0, height), *zip(xs.tolist(), ys.tolist(), strict=False), (width, height)], fill=color)
    for _ in range(int(rng.integers(1, 5))):
        w, h = int(rng.integers(15, 50)), int(rng.integers(15, 60))
        x, y0 = int(rng.integers(0, width - w)), int(rng.integers(height // 2, height - h))
        draw.rectangle([x, y0, x + w, y0 + h], fill=tuple(int(v) for v in rng.integers(80, 240, 3)))
        draw.polygon([(x - 3, y0), (x + w // 2, y0 - h // 2), (x + w + 3, y0)], fill=(120, 40, 30))
    noise = rng.normal(0, 4, (height, width, 3))
    arr = (np.asarray(img, dtype=np.float64) + noise).clip(0, 255).astype(np.uint8)
    return Image.fromarray(arr, "RGB")


def write_sample_pairs(
    out: str | os.PathLike[str],
    lang: str = "en",
    width: int = 300,
    height: int = 225,
    limit: int | None = None,
) -> Path:
    """Write the sample pictures (PNG) and ``pairs.jsonl`` into ``out``; returns the JSONL path."""
    out = Path(out)
    (out / "images").mkdir(parents=True, exist_ok=True)
    captions = sample_captions(lang)[:limit]
    lines = []
    for i, caption in enumerate(captions):
        name = f"images/{lang}-{i:03d}.png"
        path = out / name
        buf = io.BytesIO()
        draw_scene(i, width, height).save(buf, "PNG")
        atomic_write_bytes(path, buf.getvalue())
        lines.append(json.dumps({"image": name, "caption": caption}, ensure_ascii=False))
    pairs = out / "pairs.jsonl"
    atomic_write_text(pairs, "\n".join(lines) + "\n")
    return pairs
