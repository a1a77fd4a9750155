"""The one tokenizer of vcr-wiki, shared by the builder (n-gram choice) and the evaluation (metric).

Backends (the same names for ``build --nlp`` and ``eval --tokenizer``):

- ``spacy``: a locally installed spaCy model (``en_core_web_sm`` / ``zh_core_web_sm``), as upstream: its
  tokens, sentences and entities. English without the model: ``spacy.blank("en")`` tokens (the model's
  tokenizer rules) with the offline sentence splitter and eligibility heuristic.
- ``regex`` (en): an offline re-implementation of spaCy's English prefix / suffix / infix rules, sentences
  split after . ! ? (not after known abbreviations or initials), a capitalization heuristic for NER.
- ``jieba`` (zh): jieba words (dictionary bundled with jieba); ``char`` (zh): single characters. The
  metric cuts with jieba's default (HMM on, as spaCy's jieba segmenter and upstream's metric do; the name
  ``jieba-hmm`` is recorded); the builder keeps its own setting, HMM off (recorded as ``jieba``), which
  segments the same text the same way on every run and leaves earlier builds unchanged.
- ``auto``: the spaCy model when installed; else spaCy's blank English rules when spaCy is installed
  (en) or jieba (zh); else ``regex`` (en) / ``char`` (zh). The chosen name is recorded in every output.

Upstream's token eligibility for a hidden n-gram: not punctuation, not ``like_num``, no digit, no entity
of the types in ``EXCLUDED_ENTITIES``. Without NER, capitalized words (except a sentence's first word
followed by a lowercase word), month and weekday names count as entities; number words as ``like_num``.
"""

from __future__ import annotations

import functools
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from importlib.util import find_spec
from typing import Any

LANGUAGES = ("en", "zh")
BACKENDS = ("auto", "spacy", "regex", "jieba", "char")
SPACY_MODELS = {"en": "en_core_web_sm", "zh": "zh_core_web_sm"}
EXCLUDED_ENTITIES = frozenset(
    {"PERSON", "NORP", "FAC", "ORG", "LOC", "DATE", "TIME", "PERCENT", "MONEY", "QUANTITY", "CARDINAL"}
)

_NUMBER_WORDS = frozenset(
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
_DATE_WORDS = frozenset(
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
# Abbreviations that keep their final dot (spaCy's tokenizer exceptions) and never end a sentence.
ABBREVIATIONS = frozenset(
    [
        "Mr.",
        "Mrs.",
        "Ms.",
        "Dr.",
        "St.",
        "Jr.",
        "Sr.",
        "Mt.",
        "Ft.",
        "Co.",
        "Corp.",
        "Inc.",
        "Ltd.",
        "Bros.",
        "vs.",
        "etc.",
        "e.g.",
        "i.e.",
        "a.m.",
        "p.m.",
        "Jan.",
        "Feb.",
        "Mar.",
        "Apr.",
        "Jun.",
        "Jul.",
        "Aug.",
        "Sep.",
        "Sept.",
        "Oct.",
        "Nov.",
        "Dec.",
        "Gen.",
        "Gov.",
        "Rep.",
        "Sen.",
        "Rev.",
        "Prof.",
        "U.S.",
        "U.K.",
        "U.N.",
        "E.U.",
        "No.",
        "Nos.",
        "Fig.",
        "ca.",
        "approx.",
        "Capt.",
        "Col.",
        "Lt.",
        "Sgt.",
        "Hon.",
    ]
) | frozenset(f"{c}." for c in "abcdefghijklmnopqrstuvwxyz")
_ABBREVIATIONS_LOWER = frozenset(a.lower() for a in ABBREVIATIONS)


@dataclass(frozen=True)
class Token:
    """One token of a sentence and whether it may be part of a hidden n-gram."""

    text: str
    eligible: bool


SentenceFn = Callable[[str], list[list[Token]]]
BatchSentenceFn = Callable[[list[str]], list[list[list[Token]]]]


@dataclass(frozen=True)
class Tokenizer:
    """Text to tokens (``tok(text)``) and to sentences of tokens with eligibility (``tok.sentences``)."""

    name: str
    language: str
    fn: Callable[[str], list[str]]
    sentence_fn: SentenceFn
    batch_fn: BatchSentenceFn | None = None  # several texts at once (spaCy's ``nlp.pipe``)

    def __call__(self, text: str) -> list[str]:
        """The tokens of ``text`` (the metric's tokenization)."""
        return self.fn(text)

    def sentences(self, text: str) -> list[list[Token]]:
        """The sentences of ``text``, each a list of tokens with eligibility flags (the builder's)."""
        return self.sentence_fn(text)

    def sentences_many(self, texts: list[str]) -> list[list[list[Token]]]:
        """``sentences`` of each text, in one batch where the backend has one (same result, less CPU)."""
        if self.batch_fn is None:
            return [self.sentence_fn(t) for t in texts]
        return self.batch_fn(texts)


# ------------------------------------------------------------------------------------ English, offline

_EN_PREFIX = re.compile(r"""^(?:--+|[\"'`(\[{<«“‘„‚¿¡$£€¥₹#§&*~…—–\-]|\.\.+)""")
_EN_SUFFIX = re.compile(
    r"""(?:['’](?:[sSdDmM]|ll|LL|re|RE|ve|VE)|n['’]t|N['’]T|\.\.+|…|[\"'`)\]}>»”’!?,;:%*—–]"""
    r"""|--+|(?<=[a-z0-9%²)\]}\"'”’\-+])\.|(?<=[A-Z][A-Z])\.)$"""
)
_EN_INFIX = re.compile(
    r"(?<=[^\W\d_])(?:--|[-–—/:<>=])(?=[^\W\d_])"  # hyphens, slashes, colons between letters
    r"|(?<=[^\W\d_]),(?=[^\W\d_])"  # a comma glued between letters
    r"|(?<=[0-9])[+*^\-](?=[0-9\-])"  # arithmetic between digits
    r"|\.\.+|…"  # ellipses
    r"|(?<=[a-z])\.(?=[A-Z])"  # "end.Start"
)
_RUNS = re.compile(r"\s+|\S+")
_EN_BOUNDARY = re.compile(r"[.!?][\"'”’)\]]*\s+(?=[\"'“‘(\[]?[A-Z0-9])")
_EN_LAST_WORD = re.compile(r"(\S+)$")
_ZH_SENT = re.compile(r"(?<=[。！？!?；;])")


def with_whitespace(text: str, split_chunk: Callable[[str], list[str]]) -> list[str]:
    """spaCy's whitespace rule around a chunk tokenizer: one space after a token belongs to it; any other
    whitespace is a token of its own (``"hall\\nof"`` -> ``["hall", "\\n", "of"]``)."""
    tokens: list[str] = []
    for m in _RUNS.finditer(text):
        run = m.group()
        if not run[0].isspace():
            tokens.extend(split_chunk(run))
            continue
        rest = run[1:] if tokens and run[0] == " " else run
        if rest:
            tokens.append(rest)
    return tokens


def _regex_en_chunk(chunk: str) -> list[str]:
    """spaCy-like prefix / suffix / infix splitting of one whitespace-free chunk."""
    if chunk.isalnum():
        return [chunk]
    prefixes: list[str] = []
    suffixes: list[str] = []
    while len(chunk) > 1 and (m := _EN_PREFIX.match(chunk)) and m.end() < len(chunk):
        prefixes.append(m.group())
        chunk = chunk[m.end() :]
    while len(chunk) > 1 and chunk not in ABBREVIATIONS and (m := _EN_SUFFIX.search(chunk)) and m.start() > 0:
        suffixes.append(m.group())
        chunk = chunk[: m.start()]
    tokens = prefixes
    start = 0
    for m in _EN_INFIX.finditer(chunk):
        if m.start() > start:
            tokens.append(chunk[start : m.start()])
        tokens.append(m.group())
        start = m.end()
    if start < len(chunk):
        tokens.append(chunk[start:])
    tokens.extend(reversed(suffixes))
    return tokens


def regex_en(text: str) -> list[str]:
    """English tokens by the offline re-implementation of spaCy's rules."""
    return with_whitespace(text, _regex_en_chunk)


def split_english_sentences(text: str) -> list[str]:
    """Sentences of English text: a break after . ! ? before a capital or digit, except after a known
    abbreviation ("St.", "Dr.", "e.g.") or a single initial ("J.")."""
    out = []
    start = 0
    for m in _EN_BOUNDARY.finditer(text):
        if text[m.start()] == ".":
            last = _EN_LAST_WORD.search(text, start, m.start() + 1)
            word = last.group(1).lower().lstrip("\"'“‘([") if last else ""
            if word in _ABBREVIATIONS_LOWER or (len(word) == 2 and word[0].isalpha()):
                continue
        out.append(text[start : m.end()].strip())
        start = m.end()
    out.append(text[start:].strip())
    return [sent for sent in out if sent]


def _is_punct(text: str) -> bool:
    """True for punctuation and symbols (no letter or digit; whitespace is not punctuation, as spaCy)."""
    return bool(text) and not text.isspace() and not any(c.isalnum() for c in text)


def _has_digit(text: str) -> bool:
    return any(c.isdigit() for c in text)


def _english_flags(words: list[str]) -> list[Token]:
    """Eligibility without NER: punctuation, digits, number words, dates and capitalized names excluded."""
    caps = [w[:1].isupper() or (len(w) > 1 and w.isupper()) for w in words]
    first = next((k for k, w in enumerate(words) if not _is_punct(w) and not w.isspace()), 0)
    tokens = []
    for k, w in enumerate(words):
        low = w.lower()
        nxt = next((caps[j] for j in range(k + 1, len(words)) if not _is_punct(words[j])), False)
        entity = caps[k] and (k != first or nxt or (len(w) > 1 and w.isupper()))
        bad = _is_punct(w) or _has_digit(w) or low in _NUMBER_WORDS or low in _DATE_WORDS or entity
        tokens.append(Token(w, not bad))
    return tokens


def _english_sentences(tokenize: Callable[[str], list[str]]) -> SentenceFn:
    def sentences(text: str) -> list[list[Token]]:
        out = []
        for k, sent in enumerate(split_english_sentences(text)):
            # a leading space of the text is a token of its own (spaCy), kept for upstream's counting
            words = tokenize(" " + sent if k == 0 and text.startswith(" ") else sent)
            if words:
                out.append(_english_flags(words))
        return out

    return sentences


# ------------------------------------------------------------------------------------- Chinese, offline


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
    lcut: Callable[..., list[str]] = tokenizer.lcut
    return lcut


def _chinese_flags(pieces: list[str]) -> list[Token]:
    return [
        Token(p, not (_is_punct(p) or _has_digit(p) or all(c in _ZH_NUM_CHARS for c in p)))
        for p in pieces
        if p
    ]


def _chinese(name: str, cut: Callable[[str], list[str]]) -> Tokenizer:
    def fn(text: str) -> list[str]:
        return with_whitespace(text, cut)

    def sentences(text: str) -> list[list[Token]]:
        return [toks for sent in _ZH_SENT.split(text) if sent and (toks := _chinese_flags(fn(sent)))]

    return Tokenizer(name, "zh", fn, sentences)


# ---------------------------------------------------------------------------------------------- spaCy


def spacy_model_available(language: str) -> bool:
    """True when spaCy and its small model for ``language`` are installed (checked without importing)."""
    try:
        return find_spec("spacy") is not None and find_spec(SPACY_MODELS[language]) is not None
    except (ImportError, ValueError):
        return False


# Components whose output the n-gram choice never reads (tags, POS, lemmas): skipped, which leaves the
# tokens, sentences (parser) and entities (ner) unchanged.
_SPACY_UNUSED = ("tagger", "morphologizer", "attribute_ruler", "lemmatizer")


def _spacy_model(language: str) -> Tokenizer:
    import spacy

    model = SPACY_MODELS[language]
    nlp = spacy.load(model)
    nlp.select_pipes(disable=[name for name in nlp.pipe_names if name in _SPACY_UNUSED])
    tok = nlp.tokenizer

    def fn(text: str) -> list[str]:
        return [t.text for t in tok(text)]

    def flags(doc: Any) -> list[list[Token]]:  # a spaCy Doc
        return [
            [
                Token(
                    t.text,
                    not (t.is_punct or t.like_num or _has_digit(t.text) or t.ent_type_ in EXCLUDED_ENTITIES),
                )
                for t in sent
            ]
            for sent in doc.sents
        ]

    def sentences(text: str) -> list[list[Token]]:
        return flags(nlp(text))

    def many(texts: list[str]) -> list[list[list[Token]]]:
        return [flags(doc) for doc in nlp.pipe(texts, batch_size=max(1, len(texts)))]

    return Tokenizer(f"spacy:{model}", language, fn, sentences, many)


def _spacy_blank_en() -> Tokenizer | None:
    try:
        import spacy
    except ImportError:
        return None
    tok = spacy.blank("en").tokenizer

    def fn(text: str) -> list[str]:
        return [t.text for t in tok(text)]

    return Tokenizer(f"spacy:blank-en-{spacy.about.__version__}", "en", fn, _english_sentences(fn))


# --------------------------------------------------------------------------------------------- choice


@functools.cache
def get_tokenizer(language: str, backend: str = "auto", *, hmm: bool = True) -> Tokenizer:
    """The tokenizer of ``language`` ('en' or 'zh') for ``backend`` (one of ``BACKENDS``); cached.

    ``hmm``: jieba's HMM for words missing from its dictionary (on: jieba's default and upstream's metric,
    named ``jieba-hmm``; off: the builder's setting, named ``jieba``). Other backends ignore it.
    """
    if language not in LANGUAGES:
        raise ValueError(f"language must be one of {LANGUAGES}, got {language!r}")
    allowed = {"en": ("auto", "spacy", "regex"), "zh": ("auto", "spacy", "jieba", "char")}[language]
    if backend not in allowed:
        raise ValueError(f"tokenizer backend for {language!r} must be one of {allowed}, got {backend!r}")
    if backend in ("auto", "spacy") and spacy_model_available(language):
        return _spacy_model(language)
    if language == "en" and backend in ("auto", "spacy"):
        tok = _spacy_blank_en()
        if tok is not None:
            return tok
    if backend == "spacy":
        hint = "pip install spacy" if language == "en" else f"install {SPACY_MODELS['zh']} for spaCy locally"
        raise ValueError(f"tokenizer backend 'spacy' is not available for {language!r} ({hint})")
    if language == "en":
        return Tokenizer("regex-en", "en", regex_en, _english_sentences(regex_en))
    if backend in ("auto", "jieba"):
        cut = _jieba_cut()
        if cut is not None:
            return _chinese("jieba-hmm" if hmm else "jieba", functools.partial(cut, HMM=hmm))
        if backend == "jieba":
            raise ValueError("tokenizer backend 'jieba' is not installed (pip install 'vcr-wiki[zh]')")
    return _chinese("char", list)
