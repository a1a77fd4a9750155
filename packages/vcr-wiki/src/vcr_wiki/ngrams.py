"""Choice of the hidden n-grams (upstream ``mask_ngram``: n=5, mask_p=0.5), offline.

Per sentence, a token is eligible unless it is punctuation or space, ``like_num``, contains a digit, or
carries an excluded entity type (PERSON, NORP, FAC, ORG, LOC, DATE, TIME, PERCENT, MONEY, QUANTITY,
CARDINAL). Candidates are the windows of n consecutive eligible tokens, shuffled; a window is accepted
when its start and start+n are uncovered and its joined text is a substring of the kept caption; then
[start-1, start+n] become covered; a sentence stops once |covered| >= mask_p * |eligible tokens|.

Tokenizers: spaCy (``en_core_web_sm`` / ``zh_core_web_sm``) when installed locally; otherwise the
built-in fallback: a regex tokenizer with a capitalization heuristic in place of NER for English, and
jieba words (if installed) or single characters for Chinese.
"""

from __future__ import annotations

import functools
import re
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib.util import find_spec
from typing import Protocol

import numpy as np

EXCLUDED_ENTITIES = frozenset(
    {"PERSON", "NORP", "FAC", "ORG", "LOC", "DATE", "TIME", "PERCENT", "MONEY", "QUANTITY", "CARDINAL"}
)
SPACY_MODELS = {"en": "en_core_web_sm", "zh": "zh_core_web_sm"}
BACKENDS = ("auto", "spacy", "builtin", "jieba", "char")

_EN_NUM_WORDS = frozenset(
    [
        "zero",
        "one",
        "two",
        "three",
        "four",
        "five",
        "six",
        "seven",
        "eight",
        "nine",
        "ten",
        "eleven",
        "twelve",
        "thirteen",
        "fourteen",
        "fifteen",
        "sixteen",
        "seventeen",
        "eighteen",
        "nineteen",
        "twenty",
        "thirty",
        "forty",
        "fifty",
        "sixty",
        "seventy",
        "eighty",
        "ninety",
        "hundred",
        "thousand",
        "million",
        "billion",
        "trillion",
        "quadrillion",
        "dozen",
        "first",
        "second",
        "third",
        "fourth",
        "fifth",
        "sixth",
        "seventh",
        "eighth",
        "ninth",
        "tenth",
        "eleventh",
        "twelfth",
        "thirteenth",
        "fourteenth",
        "fifteenth",
        "sixteenth",
        "seventeenth",
        "eighteenth",
        "nineteenth",
        "twentieth",
        "thirtieth",
        "fortieth",
        "fiftieth",
        "sixtieth",
        "seventieth",
        "eightieth",
        "ninetieth",
        "hundredth",
        "thousandth",
        "millionth",
        "billionth",
        "trillionth",
    ]
)
_EN_DATE_WORDS = frozenset(
    [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    ]
)
_ZH_NUM_CHARS = frozenset("零〇一二三四五六七八九十百千万亿兆两壹贰叁肆伍陆柒捌玖拾佰仟")

_EN_TOKEN = re.compile(r"\w+(?:['’]\w+)*|[^\w\s]")
_EN_BOUNDARY = re.compile(r"[.!?][\"'”’)\]]*\s+(?=[\"'“‘(\[]?[A-Z0-9])")
_EN_LAST_WORD = re.compile(r"(\S+)$")
_EN_ABBREVIATIONS = frozenset(
    ["mr", "mrs", "ms", "dr", "prof", "st", "mt", "ft", "jr", "sr", "vs", "etc", "e.g", "i.e", "no", "nos",
     "co", "ltd", "inc", "corp", "gen", "col", "capt", "lt", "sgt", "rev", "hon", "fig", "ca", "approx", "u.s",
     "u.k", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec"]
)  # fmt: skip


def split_english_sentences(text: str) -> list[str]:
    """Sentences of English text: a break after . ! ? before a capital or digit, except after a known
    abbreviation ("St.", "Dr.", "e.g.") or a single initial ("J.")."""
    out = []
    start = 0
    for m in _EN_BOUNDARY.finditer(text):
        if text[m.start()] == ".":
            last = _EN_LAST_WORD.search(text, start, m.start())
            word = last.group(1).lower().lstrip("\"'“‘([") if last else ""
            if word in _EN_ABBREVIATIONS or (len(word) == 1 and word.isalpha()):
                continue
        out.append(text[start : m.end()].strip())
        start = m.end()
    out.append(text[start:].strip())
    return [sent for sent in out if sent]


_ZH_SENT = re.compile(r"(?<=[。！？!?；;])")


@dataclass(frozen=True)
class Token:
    """One token of a sentence and whether it may be part of a hidden n-gram."""

    text: str
    eligible: bool


class Tokenizer(Protocol):
    """Splits a caption into sentences of tokens with eligibility flags."""

    name: str

    def sentences(self, text: str) -> list[list[Token]]:
        """The caption's sentences, each a list of tokens."""
        ...


def _has_digit(text: str) -> bool:
    return any(c.isdigit() for c in text)


def _is_punct_or_space(text: str) -> bool:
    """True when no character is a letter or a digit (punctuation, symbols, space)."""
    return not any(c.isalnum() for c in text)


class EnglishTokenizer:
    """Built-in English fallback: regex tokens; capitalization stands in for NER.

    Ineligible: punctuation, tokens with digits, number and ordinal words (spaCy ``like_num``), month
    and weekday names (DATE), and capitalized words (a proxy for PERSON/ORG/LOC/NORP/FAC names) except a
    sentence's first word, which counts as a name only when the next word is capitalized too.
    """

    name = "builtin-en"

    def sentences(self, text: str) -> list[list[Token]]:
        """Sentences of regex tokens with eligibility flags."""
        out = []
        for sent in split_english_sentences(text):
            words = _EN_TOKEN.findall(sent)
            if not words:
                continue
            caps = [w[:1].isupper() or (len(w) > 1 and w.isupper()) for w in words]
            tokens = []
            for k, w in enumerate(words):
                low = w.lower()
                entity = caps[k] and (k > 0 or (len(words) > 1 and caps[1]) or (len(w) > 1 and w.isupper()))
                bad = (
                    _is_punct_or_space(w)
                    or _has_digit(w)
                    or low in _EN_NUM_WORDS
                    or low in _EN_DATE_WORDS
                    or entity
                )
                tokens.append(Token(w, not bad))
            out.append(tokens)
        return out


@functools.lru_cache(maxsize=1)
def _jieba_cut() -> Callable[..., list[str]] | None:
    """jieba's ``lcut`` with its dictionary loaded once per process, or None without jieba."""
    try:
        with warnings.catch_warnings():  # jieba 0.42 has invalid escape sequences
            warnings.simplefilter("ignore", DeprecationWarning)
            warnings.simplefilter("ignore", SyntaxWarning)
            import jieba
    except ImportError:
        return None
    jieba.setLogLevel(60)
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    return tokenizer.lcut


class ChineseTokenizer:
    """Built-in Chinese fallback: jieba words when ``use_jieba`` (and installed), else characters.

    Ineligible: punctuation and space, tokens with digits, and numeral words (all characters numerals).
    No entity recognition.
    """

    def __init__(self, use_jieba: bool = True) -> None:
        self._cut = _jieba_cut() if use_jieba else None
        self.name = "jieba" if self._cut is not None else "char"

    def sentences(self, text: str) -> list[list[Token]]:
        """Sentences of words (jieba) or characters with eligibility flags."""
        out = []
        for sent in _ZH_SENT.split(text):
            if not sent:
                continue
            pieces = self._cut(sent, HMM=False) if self._cut is not None else list(sent)
            tokens = [
                Token(
                    p,
                    not (_is_punct_or_space(p) or _has_digit(p) or all(c in _ZH_NUM_CHARS for c in p)),
                )
                for p in pieces
                if p
            ]
            if tokens:
                out.append(tokens)
        return out


class SpacyTokenizer:
    """spaCy model tokens, sentences and entities, as upstream (needs the model installed locally)."""

    def __init__(self, model: str) -> None:
        import spacy

        self._nlp = spacy.load(model)
        self.name = f"spacy:{model}"

    def sentences(self, text: str) -> list[list[Token]]:
        """Sentences of spaCy tokens with upstream eligibility."""
        doc = self._nlp(text)
        return [
            [
                Token(
                    t.text,
                    not (
                        t.is_punct
                        or t.is_space
                        or t.like_num
                        or _has_digit(t.text)
                        or t.ent_type_ in EXCLUDED_ENTITIES
                    ),
                )
                for t in sent
            ]
            for sent in doc.sents
        ]


def spacy_model_available(lang: str) -> bool:
    """True when spaCy and its small model for ``lang`` are installed locally (checked without importing
    spaCy, which is slow to import)."""
    try:
        return find_spec("spacy") is not None and find_spec(SPACY_MODELS[lang]) is not None
    except (ImportError, ValueError):
        return False


def get_tokenizer(lang: str, backend: str = "auto") -> Tokenizer:
    """The tokenizer for ``lang``: 'auto' picks spaCy when its model is installed, else the fallback.

    backend: 'auto', 'spacy' (error if the model is missing), 'builtin' (regex for en; jieba if
    installed, else characters, for zh), 'jieba' or 'char' (zh only).
    """
    if lang not in SPACY_MODELS:
        raise ValueError(f"lang must be 'en' or 'zh', got {lang!r}")
    if backend not in BACKENDS:
        raise ValueError(f"nlp backend must be one of {BACKENDS}, got {backend!r}")
    if backend == "spacy" or (backend == "auto" and spacy_model_available(lang)):
        if not spacy_model_available(lang):
            raise RuntimeError(
                f"spaCy model {SPACY_MODELS[lang]!r} is not installed; install it from a local wheel, "
                "or use --nlp builtin"
            )
        return SpacyTokenizer(SPACY_MODELS[lang])
    if lang == "en":
        if backend in ("jieba", "char"):
            raise ValueError(f"nlp backend {backend!r} is for Chinese only")
        return EnglishTokenizer()
    if backend == "jieba":
        tok = ChineseTokenizer(use_jieba=True)
        if tok.name != "jieba":
            raise RuntimeError("jieba is not installed: pip install 'vcr-wiki[zh]' or use --nlp char")
        return tok
    return ChineseTokenizer(use_jieba=backend != "char")


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
    """The hidden n-grams of one caption, in order of first occurrence in ``caption``."""
    if n <= 0:
        raise ValueError(f"n must be positive, got {n}")
    if not 0.0 < mask_p <= 1.0:
        raise ValueError(f"mask_p must be in (0, 1], got {mask_p}")
    chosen: list[str] = []
    for sent in sentences:
        flags = np.fromiter((t.eligible for t in sent), dtype=bool, count=len(sent))
        n_eligible = int(flags.sum())
        if len(sent) < n or n_eligible < n:
            continue
        # windows of n consecutive eligible tokens
        run = np.convolve(flags.astype(np.int32), np.ones(n, dtype=np.int32), mode="valid")
        starts = np.flatnonzero(run == n)
        covered: set[int] = set()
        for start in starts[rng.permutation(len(starts))].tolist():
            if len(covered) >= mask_p * n_eligible:
                break
            if start in covered or start + n in covered:
                continue
            text = joiner.join(t.text for t in sent[start : start + n])
            if text not in caption:
                continue
            chosen.append(text)
            covered.update(range(start - 1, start + n + 1))
    return sorted(dict.fromkeys(chosen), key=caption.find)
