"""N-gram choice before (vcr-wiki 0.1.0) and after (0.1.1, upstream's rule): spans per sample and the share of
selections that upstream's ``mask_ngram`` could never make, on the shipped English captions.

    python benchmarks/vcr-wiki-ngrams.py [--seeds 50] [--width 300]

0.1.0 tokenized the whole caption and took windows of n consecutive eligible tokens of the full token list
(so two spans could be separated by punctuation only); 0.1.1 tokenizes the kept lines and takes n-grams of
the eligible-word list with upstream's covered-index rule. A selection is "impossible upstream" when a span
is not an n-gram of the kept caption's eligible-word list or two spans are adjacent in that list.
Both use the same (offline regex) tokenizer, so only the rule differs.
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from vcr_wiki.builder.ngrams import sample_rng, select_ngrams
from vcr_wiki.builder.render import TextRenderer
from vcr_wiki.demo.sample_data import sample_captions
from vcr_wiki.tokens import get_tokenizer


def old_rule(sentences, caption, rng, n=5, mask_p=0.5) -> list[str]:
    """vcr-wiki 0.1: windows of n consecutive eligible tokens of the full token list."""
    chosen = []
    for sent in sentences:
        flags = np.array([t.eligible for t in sent], dtype=np.int32)
        n_eligible = int(flags.sum())
        if len(sent) < n or n_eligible < n:
            continue
        starts = np.flatnonzero(np.convolve(flags, np.ones(n, dtype=np.int32), mode="valid") == n)
        covered: set[int] = set()
        for start in starts[rng.permutation(len(starts))].tolist():
            if len(covered) >= mask_p * n_eligible:
                break
            if start in covered or start + n in covered:
                continue
            text = " ".join(t.text for t in sent[start : start + n])
            if text in caption:
                chosen.append(text)
                covered.update(range(start - 1, start + n + 1))
    return chosen


def possible_upstream(spans: list[str], sentences, n: int = 5) -> bool:
    """Whether upstream's rule can produce ``spans`` (all n-grams of the eligible lists, never adjacent)."""
    where: list[tuple[int, int]] = []
    for span in spans:
        hits = [
            (s, i)
            for s, sent in enumerate(sentences)
            for words in [[t.text for t in sent if t.eligible]]
            for i in range(len(words) - n + 1)
            if " ".join(words[i : i + n]) == span
        ]
        if not hits:
            return False
        where.append(hits[0])
    for a in range(len(where)):
        for b in range(a + 1, len(where)):
            (sa, ia), (sb, ib) = where[a], where[b]
            if sa == sb and abs(ia - ib) <= n:
                return False
    return True


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=50)
    ap.add_argument("--width", type=int, default=300)
    args = ap.parse_args()
    tok = get_tokenizer("en", "regex")
    renderer = TextRenderer("en")
    stats = {"old": [0, 0, 0], "new": [0, 0, 0]}  # samples, spans, impossible
    for qid, text in enumerate(sample_captions("en")):
        caption = renderer.layout(text, args.width).caption
        kept = tok.sentences(caption)
        whole = tok.sentences(" ".join(text.split()))
        for seed in range(args.seeds):
            for name, spans in (
                ("old", old_rule(whole, caption, sample_rng(seed, qid))),
                ("new", select_ngrams(kept, caption, sample_rng(seed, qid))),
            ):
                stats[name][0] += 1
                stats[name][1] += len(spans)
                stats[name][2] += not possible_upstream(spans, kept)
    print(json.dumps({
        k: {"selections": v[0], "spans_per_sample": round(v[1] / v[0], 3),
            "impossible_upstream": v[2], "impossible_share": round(v[2] / v[0], 4)}
        for k, v in stats.items()
    }, indent=2))  # fmt: skip


if __name__ == "__main__":
    main()
