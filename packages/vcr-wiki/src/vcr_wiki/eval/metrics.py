"""VCR metrics exactly as upstream (VCR ``evaluation_metrics.py``, lmms-eval, VLMEvalKit).

For every masked n-gram (a *blank*) of a sample and the model's answer for that sample:

1. keep only the text after the last ``"Assistant: "``;
2. a refusal ("I can't", "I cannot", "sorry" in any case, "无法", "抱歉") scores 0 on every blank;
3. tokenize the answer and the ground truth;
4. candidate windows are the answer's token n-grams of the ground truth's length that share at least one
   token with it;
5. the window with the highest ``difflib.SequenceMatcher(None, window, gt).ratio()`` wins (joined with
   " " in English, "" in Chinese; ties go to the first window);
6. exact match = token lists equal (case-sensitive); Jaccard = |intersection| / |union| of token sets;
   precision, recall, F1 (token sets) and ROUGE-1 F (token counts) are kept too.

The final score is the mean over all blanks (not samples) x100, with a seeded bootstrap (1,000 resamples)
standard deviation and 95% interval. Upstream's per-model ``rough_filter`` (whose Qwen-VL-Chat + zh branch
returns None and zeroes every answer) is deliberately not copied: one refusal filter applies to all models.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from difflib import SequenceMatcher

import numpy as np

from vcr_wiki.tokens import Tokenizer, get_tokenizer

__all__ = [
    "LANGUAGES",
    "SCORERS",
    "BlankScore",
    "Tokenizer",
    "aggregate_scores",
    "bootstrap_mean",
    "extract_answer",
    "get_tokenizer",
    "is_refusal",
    "score_blank",
    "score_sample",
]

LANGUAGES = ("en", "zh")
METRIC_NAMES = ("exact_match", "jaccard", "precision", "recall", "f1", "rouge1", "max_sim_val")
_JOINER = {"en": " ", "zh": ""}
# "upstream" (VCR's evaluation_metrics.py, also VLMEvalKit) cuts the answer at the last "Assistant: ";
# "lmms-eval" (its vcr_wiki task) scores the whole answer: text before that marker can refuse or match.
SCORERS = ("upstream", "lmms-eval")


def _check_language(language: str) -> str:
    if language not in LANGUAGES:
        raise ValueError(f"language must be one of {LANGUAGES}, got {language!r}")
    return language


def extract_answer(text: str, scorer: str = "upstream") -> str:
    """The text after the last ``"Assistant: "`` (upstream), or the whole text (``scorer="lmms-eval"``)."""
    if not isinstance(text, str):
        raise TypeError(f"a prediction must be a string, got {type(text).__name__}: {text!r}")
    if scorer not in SCORERS:
        raise ValueError(f"scorer must be one of {SCORERS}, got {scorer!r}")
    return text if scorer == "lmms-eval" else text.split("Assistant: ")[-1]


def is_refusal(text: str) -> bool:
    """Whether an answer is a refusal (upstream's ``fast_filter``): then every blank scores 0."""
    return (
        "I can't" in text or "I cannot" in text or "sorry" in text.lower() or "无法" in text or "抱歉" in text
    )


# ----------------------------------------------------------------------------------------------- scoring


@dataclass(frozen=True)
class BlankScore:
    """Scores of one blank (all in [0, 1]), with the best-matching window of the answer."""

    crossed_text: str
    max_sim_string: str
    max_sim_val: float
    exact_match: float
    jaccard: float
    precision: float
    recall: float
    f1: float
    rouge1: float

    def to_dict(self) -> dict[str, float | str]:
        """A JSON-ready dict."""
        return asdict(self)


def _zero(crossed_text: str) -> BlankScore:
    return BlankScore(crossed_text, "", 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)


def _rouge1(pred_tokens: Sequence[str], ref_tokens: Sequence[str]) -> float:
    """ROUGE-1 F-measure over token counts (rouge_score's unigram scorer with a custom tokenizer)."""
    overlap = sum((Counter(pred_tokens) & Counter(ref_tokens)).values())
    p = overlap / max(len(pred_tokens), 1)
    r = overlap / max(len(ref_tokens), 1)
    return 2 * p * r / (p + r) if p + r > 0 else 0.0


def _char_codes(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)


def _best_window(
    tokens: Sequence[str], gt_tokens: Sequence[str], gt: str, joiner: str
) -> tuple[float, tuple[str, ...]]:
    """Highest SequenceMatcher ratio over the windows that share a token with the ground truth.

    The result is exactly upstream's loop (windows in order, start value 0, strict ``>`` so ties go to the
    first window). It is computed faster: the quick_ratio upper bound of every window (twice the size of the
    character-multiset intersection over the total length) comes from one vectorized pass, windows are
    visited from the highest bound down, and the loop stops once no bound can beat the best ratio found.
    """
    n, t = len(gt_tokens), len(tokens)
    if n == 0 or t < n:
        return 0.0, ()
    gt_set = set(gt_tokens)
    hits = np.fromiter((tok in gt_set for tok in tokens), dtype=np.int32, count=t)
    starts = np.flatnonzero(np.convolve(hits, np.ones(n, dtype=np.int32), mode="valid"))
    if starts.size == 0:
        return 0.0, ()
    # character counts of each window over the ground truth's alphabet
    alphabet, gt_counts = np.unique(_char_codes(gt), return_counts=True)
    lengths = np.fromiter(map(len, tokens), dtype=np.int64, count=t)
    codes = _char_codes("".join(tokens))
    owner = np.repeat(np.arange(t), lengths)
    pos = np.minimum(np.searchsorted(alphabet, codes), alphabet.size - 1)
    keep = alphabet[pos] == codes
    a = alphabet.size
    per_token = np.bincount(owner[keep] * a + pos[keep], minlength=t * a).reshape(t, a)
    cum = np.vstack([np.zeros((1, a), dtype=np.int64), np.cumsum(per_token, axis=0)])
    window_counts = cum[starts + n] - cum[starts]
    cum_len = np.r_[0, np.cumsum(lengths)]
    window_len = cum_len[starts + n] - cum_len[starts] + (n - 1) * len(joiner)
    if joiner:
        j = int(np.searchsorted(alphabet, ord(joiner)))
        if j < a and alphabet[j] == ord(joiner):
            window_counts[:, j] += n - 1
    inter = np.minimum(window_counts, gt_counts).sum(axis=1)
    bound = 2.0 * inter / (window_len + len(gt))
    sm = SequenceMatcher(None, "", gt)
    best_val, best_start = 0.0, -1
    for k in np.lexsort((starts, -bound)).tolist():
        i = int(starts[k])
        if bound[k] < best_val or (bound[k] == best_val and best_start >= 0 and i > best_start):
            break  # sorted by bound (then start): nothing after this can win
        sm.set_seq1(joiner.join(tokens[i : i + n]))
        val = sm.ratio()
        if val > 0 and (val > best_val or (val == best_val and i < best_start)):
            best_val, best_start = val, i
    if best_start < 0:
        return 0.0, ()
    return best_val, tuple(tokens[best_start : best_start + n])


def score_blank(
    prediction: str,
    crossed_text: str,
    language: str,
    tokenizer: Tokenizer | None = None,
    *,
    pred_tokens: Sequence[str] | None = None,
    scorer: str = "upstream",
) -> BlankScore:
    """Score one blank (one ground-truth n-gram) against a model's whole answer (``scorer``: see SCORERS).

    ``pred_tokens`` may pass the answer's tokens when they are already known (several blanks, one answer).
    """
    _check_language(language)
    if not isinstance(crossed_text, str) or not crossed_text.strip():
        raise ValueError(f"a ground-truth blank must be a non-empty string, got {crossed_text!r}")
    tok = tokenizer or get_tokenizer(language)
    answer = extract_answer(prediction, scorer)
    if is_refusal(answer):
        return _zero(crossed_text)
    tokens = list(pred_tokens) if pred_tokens is not None else tok(answer)
    gt_tokens = _tokens_cached(tok, crossed_text)
    joiner = _JOINER[language]
    val, window = _best_window(tokens, gt_tokens, crossed_text, joiner)
    if not window:
        return _zero(crossed_text)
    pred_set, ref_set = set(window), set(gt_tokens)
    inter = len(pred_set & ref_set)
    precision = inter / len(pred_set)
    recall = inter / len(ref_set)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    jaccard = inter / len(pred_set | ref_set)
    window_string = joiner.join(window)
    rouge1 = _rouge1(_tokens_cached(tok, window_string), gt_tokens)
    exact = float(list(window) == list(gt_tokens))
    return BlankScore(crossed_text, window_string, val, exact, jaccard, precision, recall, f1, rouge1)


@functools.lru_cache(maxsize=65536)
def _tokens_cached(tok: Tokenizer, text: str) -> tuple[str, ...]:
    return tuple(tok(text))


def score_sample(
    prediction: str,
    crossed_texts: Sequence[str],
    language: str,
    tokenizer: Tokenizer | None = None,
    *,
    scorer: str = "upstream",
) -> list[BlankScore]:
    """Score every blank of one sample against the model's answer (``scorer``: 'upstream' or 'lmms-eval')."""
    _check_language(language)
    if isinstance(crossed_texts, str) or len(crossed_texts) == 0:
        raise ValueError(f"crossed_texts must be a non-empty list of strings, got {crossed_texts!r}")
    tok = tokenizer or get_tokenizer(language)
    answer = extract_answer(prediction, scorer)
    if is_refusal(answer):
        return [_zero(c) for c in crossed_texts]
    tokens = tok(answer)
    return [score_blank(answer, c, language, tok, pred_tokens=tokens, scorer=scorer) for c in crossed_texts]


# ----------------------------------------------------------------------------------------------- aggregate


def bootstrap_mean(
    values: Sequence[float] | np.ndarray, n_resamples: int = 1000, ci: float = 0.95, seed: int = 0
) -> tuple[float, float, float]:
    """Bootstrap of the mean (upstream's ``bootstrap_std``, seeded): (std of the resampled means, lower and
    upper percentiles of the ``ci`` interval), with numpy's default linear percentile and ddof=0."""
    x = np.asarray(values, dtype=np.float64)
    if x.ndim != 1 or x.size == 0:
        raise ValueError(f"bootstrap needs a non-empty 1-D sequence of values, got shape {x.shape}")
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be >= 1, got {n_resamples}")
    if not 0.0 < ci < 1.0:
        raise ValueError(f"ci must be in (0, 1), got {ci}")
    rng = np.random.default_rng(seed)
    n = x.size
    means = np.empty(n_resamples)
    chunk = max(1, 4_000_000 // n)
    for start in range(0, n_resamples, chunk):
        stop = min(n_resamples, start + chunk)
        means[start:stop] = x[rng.integers(0, n, size=(stop - start, n))].mean(axis=1)
    lo, hi = np.percentile(means, [(1 - ci) / 2 * 100, (1 + ci) / 2 * 100])
    return float(means.std()), float(lo), float(hi)


def aggregate_scores(
    scores: Sequence[BlankScore], *, n_resamples: int = 1000, ci: float = 0.95, seed: int = 0
) -> dict[str, object]:
    """Mean over blanks x100 of every metric, with bootstrap std and ``ci`` interval (x100, seeded).

    Returns ``exact_match`` and ``jaccard`` (percent) at the top level, ``n_blanks``, and per metric
    ``{"mean", "std", "ci_low", "ci_high"}`` under ``"metrics"``.
    """
    if len(scores) == 0:
        raise ValueError("no blanks to aggregate (the prediction set is empty)")
    table: dict[str, dict[str, float]] = {}
    for k, name in enumerate(METRIC_NAMES):
        vals = np.fromiter((getattr(s, name) for s in scores), dtype=np.float64, count=len(scores))
        std, lo, hi = bootstrap_mean(vals, n_resamples, ci, seed + k)
        table[name] = {
            "mean": 100.0 * float(vals.mean()),
            "std": 100.0 * std,
            "ci_low": 100.0 * lo,
            "ci_high": 100.0 * hi,
        }
    return {
        "exact_match": table["exact_match"]["mean"],
        "jaccard": table["jaccard"]["mean"],
        "n_blanks": len(scores),
        "metrics": table,
        "bootstrap": {"n_resamples": n_resamples, "ci": ci, "seed": seed},
    }
