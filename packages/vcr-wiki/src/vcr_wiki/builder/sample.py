"""One VCR sample: filters, layout, n-grams, masks, and the encoded row of a shard."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from vcr_wiki import __version__
from vcr_wiki.builder.inputs import ImageError, Pair, load_image
from vcr_wiki.builder.masks import DIFFICULTIES, Rect, apply_masks, band, span_rectangles
from vcr_wiki.builder.ngrams import sample_rng, select_ngrams
from vcr_wiki.builder.png import assemble_png, compress_gray_rows, compress_rows, resolve_deflate, white_rows
from vcr_wiki.builder.render import LANGS, TextLayout, TextRenderer, normalize_caption, stack, text_only
from vcr_wiki.tokens import BACKENDS, Token, get_tokenizer

BATCH = 64  # pairs whose kept captions go through a batching tokenizer (spaCy) together
DROP_REASONS = (
    "bad_row",
    "bad_encoding",
    "other_language",
    "empty_caption",
    "censored",
    "bad_image",
    "outside_input",
    "too_tall",
    "no_ngram",
)


@dataclass(frozen=True)
class BuildConfig:
    """Settings of a VCR build; defaults are the paper's (n=5, mask_p=0.5, font 20, width 300, <=900 px)."""

    lang: str = "en"
    difficulty: str = "easy"
    seed: int = 42
    n: int = 5
    mask_p: float = 0.5
    font: str | None = None
    font_size: int = 20
    width: int | None = 300
    max_height: int | None = 900
    max_lines: int = 5
    nlp: str = "auto"
    split: str = "test"
    shard_size: int = 1000
    censor: tuple[str, ...] = field(default=())
    png_deflate: str = "auto"

    def __post_init__(self) -> None:
        if self.lang not in LANGS:
            raise ValueError(f"lang must be one of {LANGS}, got {self.lang!r}")
        if self.difficulty not in DIFFICULTIES:
            raise ValueError(f"difficulty must be one of {DIFFICULTIES}, got {self.difficulty!r}")
        if self.shard_size <= 0:
            raise ValueError(f"shard_size must be positive, got {self.shard_size}")
        if self.width is not None and self.width <= 0:
            raise ValueError(f"width must be positive (or None to keep each image's width), got {self.width}")
        if self.max_height is not None and self.max_height <= 0:
            raise ValueError(f"max_height must be positive (or None for no limit), got {self.max_height}")
        if self.n <= 0:
            raise ValueError(f"n (tokens per hidden n-gram) must be positive, got {self.n}")
        if not 0.0 < self.mask_p <= 1.0:
            raise ValueError(f"mask_p must be in (0, 1], got {self.mask_p}")
        if self.font_size <= 0 or self.max_lines <= 0:
            raise ValueError(
                f"font_size and max_lines must be positive, got {self.font_size}, {self.max_lines}"
            )
        if self.nlp not in BACKENDS:
            raise ValueError(f"nlp must be one of {BACKENDS}, got {self.nlp!r}")
        if not self.split or not self.split.replace("_", "").replace("-", "").isalnum():
            raise ValueError(f"split must be a simple name like 'train' or 'test', got {self.split!r}")


@dataclass
class RenderedSample:
    """A sample before encoding: the picture, the clean and masked TEI, the spans and their rectangles."""

    question_id: int
    layout: TextLayout
    crossed_text: list[str]
    image: np.ndarray
    tei: np.ndarray
    tei_masked: np.ndarray
    rects: list[Rect]

    @property
    def caption(self) -> str:
        """The kept (truncated) caption."""
        return self.layout.caption

    def stacked(self, masked: bool = True) -> np.ndarray:
        """The stacked image: picture over the (masked) TEI."""
        return stack(self.image, self.tei_masked if masked else self.tei)

    def only_it(self, masked: bool = True) -> np.ndarray:
        """The text-only image, same size as the stacked image."""
        h = self.image.shape[0] + self.tei.shape[0] + 1
        return text_only(self.tei_masked if masked else self.tei, h)


class SampleMaker:
    """Turns input pairs into VCR rows for one configuration (one per process)."""

    def __init__(self, config: BuildConfig) -> None:
        self.config = config
        self.renderer = TextRenderer(config.lang, config.font, config.font_size, config.max_lines)
        self.tokenizer = get_tokenizer(config.lang, config.nlp, hmm=False)  # jieba: the builder's setting
        self.lo, self.hi = band(config.lang, config.difficulty)
        self.censor = tuple(w for w in config.censor if w.strip())
        self.deflate = resolve_deflate(config.png_deflate)
        self.record = self._record()
        self._record_json = json.dumps(self.record, sort_keys=True, ensure_ascii=False)

    def _record(self) -> dict[str, Any]:
        """The configuration stored with every row (the ``config`` column) and in the manifest."""
        rec = asdict(self.config)
        rec.pop("censor")
        rec["font"] = os.path.basename(str(self.renderer.font_path))
        rec["line_height"] = self.renderer.line_height
        rec["band"] = [self.lo, self.hi]
        rec["tokenizer"] = self.tokenizer.name
        rec["png_deflate"] = self.deflate
        rec["censor_words"] = len(self.censor)
        rec["vcr_wiki_version"] = __version__
        return rec

    def _prepare(self, pair: Pair) -> tuple[np.ndarray, TextLayout] | str:
        """The picture and the wrapped caption of a pair, or the reason it is dropped."""
        if pair.error is not None:
            reason = pair.error.split(":", 1)[0]
            return reason if reason in DROP_REASONS else "bad_row"
        text = normalize_caption(pair.caption or "")
        if not text:
            return "empty_caption"
        if any(w in text for w in self.censor):  # upstream: case-sensitive substring
            return "censored"
        try:
            image = load_image(pair, self.config.width)
        except ImageError as exc:
            return exc.reason
        if self.config.max_height is not None and image.shape[0] > self.config.max_height:
            return "too_tall"
        return image, self.renderer.layout(text, image.shape[1])

    def _finish(
        self, pair: Pair, image: np.ndarray, layout: TextLayout, sentences: list[list[Token]]
    ) -> RenderedSample | str:
        """The n-grams, text image and masks of a prepared pair, or "no_ngram"."""
        rng = sample_rng(self.config.seed, pair.index)
        spans = select_ngrams(
            sentences, layout.caption, rng, n=self.config.n, mask_p=self.config.mask_p, joiner=layout.joiner
        )
        if not spans:
            return "no_ngram"
        width = image.shape[1]
        tei = self.renderer.render(layout, width)
        rects = span_rectangles(layout, spans, self.renderer.text_right, self.lo, self.hi)
        return RenderedSample(pair.index, layout, spans, image, tei, apply_masks(tei, rects), rects)

    def _render_batch(self, pairs: Sequence[Pair]) -> list[RenderedSample | str]:
        """``render`` of each pair, the kept captions tokenized in one batch (spaCy's ``nlp.pipe``)."""
        prepared = [self._prepare(p) for p in pairs]
        kept = [x for x in prepared if not isinstance(x, str)]
        sentences = iter(self.tokenizer.sentences_many([layout.caption for _, layout in kept]))
        return [
            x if isinstance(x, str) else self._finish(p, *x, next(sentences))
            for p, x in zip(pairs, prepared, strict=True)
        ]

    def render(self, pair: Pair) -> RenderedSample | str:
        """The rendered sample of a pair, or the reason it is dropped (one of DROP_REASONS)."""
        return self._render_batch([pair])[0]

    @property
    def batch_size(self) -> int:
        """Pairs rendered together: ``BATCH`` with a tokenizer that batches (spaCy), else 1."""
        return BATCH if self.tokenizer.batch_fn is not None else 1

    def rows(self, pairs: Sequence[Pair]) -> list[dict[str, Any] | str]:
        """``row`` of each pair, ``batch_size`` pairs at a time (their captions tokenized together)."""
        out: list[dict[str, Any] | str] = []
        size = self.batch_size
        for start in range(0, len(pairs), size):
            for sample in self._render_batch(pairs[start : start + size]):
                out.append(sample if isinstance(sample, str) else self._encode(sample))
        return out

    def row(self, pair: Pair) -> dict[str, Any] | str:
        """The shard row of a pair (PNG bytes in the ``datasets`` Image layout), or a drop reason."""
        return self.rows([pair])[0]

    def _encode(self, sample: RenderedSample) -> dict[str, Any]:
        """The shard row of a rendered sample (PNG bytes in the ``datasets`` Image layout)."""
        backend = self.deflate
        picture = compress_rows(sample.image, backend)
        h, w = sample.image.shape[:2]
        text = compress_gray_rows(sample.tei_masked, backend)
        height = h + text.height + 1
        top = (height - text.height) // 2
        stacked = assemble_png([picture, text, white_rows(w, 1, backend)])
        small = assemble_png([text])
        only_it = assemble_png(
            [white_rows(w, top, backend), text, white_rows(w, height - top - text.height, backend)]
        )
        return {
            "question_id": sample.question_id,
            "image": {"bytes": assemble_png([picture]), "path": None},
            "caption": sample.caption,
            "stacked_image": {"bytes": stacked, "path": None},
            "only_it_image": {"bytes": only_it, "path": None},
            "only_it_image_small": {"bytes": small, "path": None},
            "crossed_text": sample.crossed_text,
            "lang": self.config.lang,
            "difficulty": self.config.difficulty,
            "config": self._record_json,
        }
