"""Choice of the hidden n-grams, as upstream's ``mask_ngram`` (n=5, mask_p=0.5), with per-sample seeds.

The caption tokenized is the kept (wrapped, truncated) caption. Per sentence, the eligible tokens (see
:mod:`vcr_wiki.tokens`) form a word list; its n-grams (joined by " " in English, "" in Chinese) are the
candidates, shuffled. A candidate at word index ``start`` is accepted when ``start`` and ``start + n`` are
not covered and its text is a substring of the kept caption; then word indices [start-1, start+n] become
covered, so two spans are separated by at least one eligible word. A sentence stops once
|covered| >= mask_p * |eligible words|. Upstream shuffles with one global ``random.seed(42)``; here each
sample has its own generator from ``(seed, question_id)``, so shards can be built in any order.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from vcr_wiki.tokens import Token


def sample_rng(seed: int, question_id: int) -> np.random.Generator:
    """The random generator of one sample: depends only on the seed and the sample's id."""
    return np.random.default_rng([int(seed) & 0xFFFFFFFF, int(question_id) & 0xFFFFFFFFFFFF])


def select_ngrams(
    sentences: Sequence[Sequence[Token]],
    caption: str,
    rng: np.random.Generator,
    n: int = 5,
    mask_p: float = 0.5,
    joiner: str = " ",
) -> list[str]:
    """The hidden n-grams of one caption, sentence by sentence in the order accepted (as upstream)."""
    if n <= 0:
        raise ValueError(f"n must be positive, got {n}")
    if not 0.0 < mask_p <= 1.0:
        raise ValueError(f"mask_p must be in (0, 1], got {mask_p}")
    chosen: list[str] = []
    for sent in sentences:
        words = [t.text for t in sent if t.eligible]
        if len(words) < n:
            continue
        starts = np.arange(len(words) - n + 1)
        covered: set[int] = set()
        for start in starts[rng.permutation(len(starts))].tolist():
            if start in covered or start + n in covered:
                continue
            text = joiner.join(words[start : start + n])
            if text not in caption:
                continue
            chosen.append(text)
            covered.update(range(start - 1, start + n + 1))
            if len(covered) >= len(words) * mask_p:
                break
    return chosen
