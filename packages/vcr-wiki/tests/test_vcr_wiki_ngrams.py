"""N-gram rules: n tokens, eligible only, substring of the kept caption, spans apart, <= ~half, seeded."""

from __future__ import annotations

import itertools
import re

import numpy as np
import pytest

from vcr_wiki.builder.ngrams import sample_rng, select_ngrams
from vcr_wiki.builder.render import TextRenderer
from vcr_wiki.demo.sample_data import sample_captions
from vcr_wiki.tokens import Token, get_tokenizer, split_english_sentences


def EnglishTokenizer():
    return get_tokenizer("en", "regex")


def ChineseTokenizer(use_jieba: bool = True):
    return get_tokenizer("zh", "jieba" if use_jieba else "char")


def test_english_eligibility_heuristics() -> None:
    [sent] = EnglishTokenizer().sentences(
        "The bridge was built by John Smith in 1875, with three arches in May."
    )
    flags = {t.text: t.eligible for t in sent}
    assert flags["bridge"] and flags["was"] and flags["The"]  # first word, next word lowercase
    assert not flags["John"] and not flags["Smith"]  # capitalized: a name
    assert not flags["1875"] and not flags[","] and not flags["."]
    assert not flags["three"]  # like_num
    assert not flags["May"]  # DATE
    [sent2] = EnglishTokenizer().sentences("New York is a large city.")
    assert not sent2[0].eligible and not sent2[1].eligible and sent2[2].eligible


def test_english_sentences_split() -> None:
    sents = EnglishTokenizer().sentences("It is old. The roof is new! Is it? yes.")
    assert [" ".join(t.text for t in s) for s in sents] == [
        "It is old .",
        "The roof is new !",
        "Is it ? yes .",
    ]
    [sent] = EnglishTokenizer().sentences("Don't stop-gap.")
    assert [t.text for t in sent] == ["Do", "n't", "stop", "-", "gap", "."]  # spaCy's rules
    text = (
        'The church of St. Mary was built by J. Smith, e.g. "in stone." Then it burnt. 1990 saw a new roof.'
    )
    assert split_english_sentences(text) == [
        'The church of St. Mary was built by J. Smith, e.g. "in stone."',
        "Then it burnt.",
        "1990 saw a new roof.",
    ]


def _check_spans(spans: list[str], caption: str, sentences: list[list[Token]], n: int, joiner: str) -> None:
    eligible = {t.text for s in sentences for t in s if t.eligible}
    for span in spans:
        assert span in caption
        toks = span.split(" ") if joiner == " " else None
        if toks is not None:
            assert len(toks) == n and all(t in eligible for t in toks)
        assert not re.search(r"\d", span)
        assert not re.search(r"[^\w\s'’]", span)
    placed = sorted((caption.find(s), caption.find(s) + len(s)) for s in spans)
    for (_, end), (start, _) in itertools.pairwise(placed):
        assert re.search(r"\w", caption[end:start])  # upstream: a word (not only punctuation) between


def test_english_spans_follow_the_rules_on_all_sample_captions() -> None:
    tok = EnglishTokenizer()
    r = TextRenderer("en")
    total = 0
    for qid, text in enumerate(sample_captions("en")):
        caption = r.layout(text, 300).caption
        sents = tok.sentences(caption)  # upstream tokenizes the kept lines only
        spans = select_ngrams(sents, caption, sample_rng(42, qid), n=5, mask_p=0.5)
        assert 1 <= len(spans) <= 4
        _check_spans(spans, caption, sents, 5, " ")
        n_eligible = sum(t.eligible for s in sents for t in s)
        assert 5 * len(spans) <= 0.5 * n_eligible + 5  # at most about half the eligible tokens
        total += len(spans)
    assert 1.0 <= total / len(sample_captions("en")) <= 4.0


def test_spans_are_apart_in_token_positions() -> None:
    words = [a + b for a in "pqrs" for b in "abcdefghi"]
    text = " ".join(words)
    sents = [[Token(w, True) for w in words]]
    for seed in range(30):
        spans = select_ngrams(sents, text, sample_rng(seed, 0), n=5, mask_p=1.0)
        idx = sorted(words.index(s.split()[0]) for s in spans)
        for a, b in itertools.pairwise(idx):
            assert b - a >= 6  # span of 5 plus at least one token between


def test_only_the_kept_caption_is_used() -> None:
    sents = [
        [
            Token(w, True)
            for w in ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven"]
        ]
    ]
    spans = select_ngrams(sents, "one two three four five six", sample_rng(0, 0), mask_p=1.0)
    assert spans in (["one two three four five"], ["two three four five six"])
    assert select_ngrams(sents, "one two three", sample_rng(0, 0)) == []


def test_determinism_per_seed_and_sample() -> None:
    tok = EnglishTokenizer()
    text = " ".join(sample_captions("en")[:2])
    sents = tok.sentences(text)
    a = select_ngrams(sents, text, sample_rng(7, 3))
    assert a == select_ngrams(sents, text, sample_rng(7, 3))
    others = {tuple(select_ngrams(sents, text, sample_rng(s, 3))) for s in range(12)}
    assert len(others) > 1


def test_chinese_per_character_and_jieba() -> None:
    text = sample_captions("zh")[0]
    char = ChineseTokenizer(use_jieba=False)
    assert char.name == "char"
    sents = char.sentences(text)
    assert all(len(t.text) == 1 for s in sents for t in s)
    assert not next(t for s in sents for t in s if t.text == "，").eligible
    spans = select_ngrams(sents, text, sample_rng(42, 0), joiner="")
    assert spans and all(len(s) == 5 and s in text for s in spans)
    pytest.importorskip("jieba")
    jb = ChineseTokenizer(use_jieba=True)
    assert jb.name == "jieba-hmm"  # the metric's jieba: HMM on, as upstream
    spans = select_ngrams(jb.sentences(text), text, sample_rng(42, 0), joiner="")
    assert spans and all(s in text for s in spans)
    [[*toks]] = ChineseTokenizer(use_jieba=False).sentences("三百年前2020")
    assert not any(t.eligible for t in toks if t.text in "三百2020")


def test_get_tokenizer_validates() -> None:
    assert get_tokenizer("en", "regex").name == "regex-en"
    assert get_tokenizer("zh", "char").name == "char"
    with pytest.raises(ValueError, match="'xx'"):
        get_tokenizer("en", "xx")
    with pytest.raises(ValueError, match="'char'"):
        get_tokenizer("en", "char")


def test_spans_separated_only_by_punctuation_are_impossible_as_upstream() -> None:
    # "a b c d e, f g h i j": the two 5-grams are adjacent in the eligible word list, so upstream's
    # covered set [start-1, start+n] forbids taking both.
    text = "aa bb cc dd ee, ff gg hh ii jj"
    sents = EnglishTokenizer().sentences(text)
    for seed in range(40):
        spans = select_ngrams(sents, text, sample_rng(seed, 0), n=5, mask_p=1.0)
        assert len(spans) == 1


def test_windows_skip_ineligible_tokens_like_upstream() -> None:
    # upstream joins eligible words only: "aa bb cc dd ff" (skipping "3") is not in the caption
    text = "aa bb cc dd 3 ff gg"
    sents = EnglishTokenizer().sentences(text)
    assert [t.text for t in sents[0] if t.eligible] == ["aa", "bb", "cc", "dd", "ff", "gg"]
    for seed in range(20):
        assert select_ngrams(sents, text, sample_rng(seed, 0), n=5, mask_p=1.0) == []


def test_sample_rng_is_independent_of_order() -> None:
    a = sample_rng(1, 5).permutation(10)
    sample_rng(1, 4).permutation(10)
    assert np.array_equal(a, sample_rng(1, 5).permutation(10))


def test_spacy_model_tokenizer_skips_unused_components_and_batches_like_one_by_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With a spaCy model (here a small local pipeline standing in for en_core_web_sm: sentencizer,
    attribute_ruler, an entity ruler as ``ner``), the builder's tokenizer switches off the components the
    n-gram choice never reads and gives the same sentences and flags in a batch as one text at a time."""
    import spacy

    import vcr_wiki.tokens as tokens

    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    nlp.add_pipe("attribute_ruler")
    ruler = nlp.add_pipe("entity_ruler", name="ner")
    nlp.initialize()
    ruler.add_patterns([{"label": "PERSON", "pattern": "Alice"}])  # after initialize, which clears them
    monkeypatch.setattr(spacy, "load", lambda name: nlp if name == "en_core_web_sm" else None)
    tokenizer = tokens._spacy_model("en")
    assert nlp.disabled == ["attribute_ruler"] and tokenizer.batch_fn is not None
    texts = ["Alice walked to the old harbour. It had 12 boats!", "A quiet town by the sea.", ""]
    one_by_one = [tokenizer.sentences(t) for t in texts]
    assert tokenizer.sentences_many(texts) == one_by_one
    first = one_by_one[0]
    assert len(first) == 2
    assert [(t.text, t.eligible) for t in first[0][:2]] == [("Alice", False), ("walked", True)]
    assert [t.eligible for t in first[1] if t.text in {"12", "!"}] == [False, False]
