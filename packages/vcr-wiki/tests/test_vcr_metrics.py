"""Hand-computed cases of the VCR metrics (facts file section 7 and more), English and Chinese."""

from __future__ import annotations

import importlib.util
from difflib import SequenceMatcher

import numpy as np
import pytest

from vcr_wiki.eval.metrics import (
    BlankScore,
    aggregate_scores,
    bootstrap_mean,
    extract_answer,
    get_tokenizer,
    is_refusal,
    score_blank,
    score_sample,
)

HAS_SPACY = importlib.util.find_spec("spacy") is not None
HAS_JIEBA = importlib.util.find_spec("jieba") is not None
EN_BACKENDS = ["regex", pytest.param("spacy", marks=pytest.mark.skipif(not HAS_SPACY, reason="no spaCy"))]
GT = "main hall of the museum"


@pytest.mark.parametrize("backend", EN_BACKENDS)
@pytest.mark.parametrize(
    ("prediction", "em", "jac"),
    [
        ("The covered text is: main hall of the museum.", 1.0, 1.0),
        ("main room of the museum", 0.0, 4 / 6),
        ("Main hall of the museum", 0.0, 4 / 6),  # case-sensitive: {Main} vs {main}
        ("hall of", 0.0, 0.0),  # shorter than the blank: no window at all
        ("Sorry, I cannot restore the text.", 0.0, 0.0),
    ],
)
def test_facts_section7_cases(backend: str, prediction: str, em: float, jac: float) -> None:
    s = score_blank(prediction, GT, "en", get_tokenizer("en", backend))
    assert s.exact_match == em
    assert s.jaccard == pytest.approx(jac)


@pytest.mark.parametrize("backend", EN_BACKENDS)
def test_reordered_tokens_have_full_jaccard_but_no_exact_match(backend: str) -> None:
    s = score_blank("the dog and the cat", "the cat and the dog", "en", get_tokenizer("en", backend))
    assert (s.exact_match, s.jaccard) == (0.0, 1.0)


def test_token_sets_precision_recall_f1_rouge() -> None:
    # gt set {the, cat, sat, on, mat} (5), window set {a, cat, sat, on, mat} (5), 4 shared
    s = score_blank("a cat sat on a mat", "the cat sat on the mat", "en", get_tokenizer("en", "regex"))
    assert s.jaccard == pytest.approx(4 / 6)
    assert (s.precision, s.recall, s.f1) == pytest.approx((0.8, 0.8, 0.8))
    # ROUGE-1 counts tokens: window [a cat sat on a mat] vs [the cat sat on the mat]: 4 of 6 each way
    assert s.rouge1 == pytest.approx(4 / 6)
    assert s.max_sim_val == pytest.approx(
        SequenceMatcher(None, "a cat sat on a mat", "the cat sat on the mat").ratio()
    )


def test_best_window_is_highest_ratio_and_ties_go_to_first() -> None:
    tok = get_tokenizer("en", "regex")
    # windows "ab ce" and "ab cf" both have ratio 0.8 against "ab cd": the first wins
    s = score_blank("ab ce ab cf", "ab cd", "en", tok)
    assert s.max_sim_string == "ab ce"
    assert s.max_sim_val == pytest.approx(0.8)
    # a later, better window wins over an earlier one
    s = score_blank("the museum hall . main hall of the museum", GT, "en", tok)
    assert s.max_sim_string == GT and s.exact_match == 1.0


def test_windows_must_share_a_token() -> None:
    s = score_blank("completely different words here now", GT, "en", get_tokenizer("en", "regex"))
    assert s == BlankScore(GT, "", 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)


def test_assistant_prefix_and_refusals() -> None:
    assert extract_answer("User: restore it. Assistant: x Assistant: main hall") == "main hall"
    assert is_refusal("I can't see") and is_refusal("I cannot see") and is_refusal("SORRY")
    assert is_refusal("我无法识别") and is_refusal("抱歉")
    assert not is_refusal("i can't see")  # upstream's filter is case-sensitive for these two
    tok = get_tokenizer("en", "regex")
    assert score_blank("Assistant: main hall of the museum", GT, "en", tok).exact_match == 1.0
    # the refusal check runs on the answer after the last "Assistant: " only
    assert score_blank("User: sorry? Assistant: main hall of the museum", GT, "en", tok).exact_match == 1.0
    assert score_blank("main hall of the museum, sorry", GT, "en", tok).exact_match == 0.0


def test_empty_and_bad_predictions() -> None:
    tok = get_tokenizer("en", "regex")
    assert score_blank("", GT, "en", tok).jaccard == 0.0  # an empty answer is valid and scores 0
    with pytest.raises(TypeError, match="prediction must be a string"):
        score_blank(None, GT, "en", tok)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="non-empty string"):
        score_blank("x", "  ", "en", tok)
    with pytest.raises(ValueError, match="language"):
        score_blank("x", GT, "fr", tok)
    with pytest.raises(ValueError, match="non-empty list"):
        score_sample("x", [], "en", tok)


@pytest.mark.parametrize(
    ("backend", "jac"),
    [
        ("char", 4 / 6),
        pytest.param("jieba", 1 / 3, marks=pytest.mark.skipif(not HAS_JIEBA, reason="no jieba")),
    ],
)
def test_chinese_cases(backend: str, jac: float) -> None:
    tok = get_tokenizer("zh", backend)
    # char: {博,物,馆,大,厅} vs {博,物,馆,客,厅}; jieba: [博物馆, 大厅] vs [博物馆, 客厅]
    s = score_blank("博物馆客厅", "博物馆大厅", "zh", tok)
    assert s.exact_match == 0.0 and s.jaccard == pytest.approx(jac)
    s = score_blank("答案是：博物馆大厅。", "博物馆大厅", "zh", tok)
    assert (s.exact_match, s.jaccard, s.max_sim_string) == (1.0, 1.0, "博物馆大厅")  # joined with ""
    assert score_blank("抱歉，博物馆大厅", "博物馆大厅", "zh", tok).jaccard == 0.0


def test_chinese_answers_are_never_zeroed_by_model_name() -> None:
    """Upstream's Qwen-VL-Chat + zh filter returned None and zeroed every answer: ours has no such branch."""
    scores = score_sample(
        "位于城市中心的博物馆大厅", ["城市中心", "博物馆大厅"], "zh", get_tokenizer("zh", "char")
    )
    assert [s.exact_match for s in scores] == [1.0, 1.0]


def test_average_is_over_blanks_not_samples() -> None:
    tok = get_tokenizer("en", "regex")
    a = score_sample("red fox jumps", ["red fox", "fox jumps"], "en", tok)  # 2 blanks, both exact
    b = score_sample("nothing here", ["blue whale"], "en", tok)  # 1 blank, wrong
    agg = aggregate_scores(a + b, n_resamples=50)
    assert agg["n_blanks"] == 3
    assert agg["exact_match"] == pytest.approx(200 / 3)  # per-sample averaging would give 50
    assert agg["metrics"]["jaccard"]["mean"] == pytest.approx(200 / 3)
    with pytest.raises(ValueError, match="no blanks"):
        aggregate_scores([])


def test_bootstrap_is_seeded_and_calibrated() -> None:
    x = np.r_[np.zeros(500), np.ones(500)]
    a, b = bootstrap_mean(x, seed=3), bootstrap_mean(x, seed=3)
    assert a == b
    assert bootstrap_mean(x, seed=4) != a
    std, lo, hi = a
    assert std == pytest.approx(np.sqrt(0.25 / 1000), rel=0.15)
    assert lo < 0.5 < hi and hi - lo == pytest.approx(2 * 1.96 * std, rel=0.2)
    assert bootstrap_mean(np.full(7, 0.25)) == (0.0, 0.25, 0.25)
    with pytest.raises(ValueError, match="non-empty"):
        bootstrap_mean([])


def test_aggregate_reports_percent_with_interval() -> None:
    scores = [BlankScore("g", "g", 1.0, float(i % 4 == 0), 0.5, 0.5, 0.5, 0.5, 0.5) for i in range(400)]
    agg = aggregate_scores(scores, seed=1)
    em = agg["metrics"]["exact_match"]
    assert agg["exact_match"] == pytest.approx(25.0) and agg["jaccard"] == pytest.approx(50.0)
    assert em["ci_low"] < 25.0 < em["ci_high"] and 1.0 < em["std"] < 3.5
    assert agg["bootstrap"] == {"n_resamples": 1000, "ci": 0.95, "seed": 1}


ENGLISH_TEXTS = [
    "The covered texts are: main hall of the museum.",
    "St. Mary's church, built in 1850 (restored), is a well-known landmark; don't miss it!",
    'He said "hello" and left... The U.S. Army\'s base/camp was near the river-side.',
    "Photo of the old town hall -- taken from the north-east corner at 3:45 pm.",
    "I'm sure it's the Smiths' house, isn't it? Yes: the house.",
    "Dr. Smith and Mr. Jones met in Jan. at St. Paul's -- what a day.",
    "A photo of the U.S. Capitol, c. 1900.",
    " main hall\nof the  museum.\n\nThe end \n",  # whitespace tokens as spaCy makes them
    "a.\nThe\tcat x   y",
]


@pytest.mark.skipif(not HAS_SPACY, reason="no spaCy")
@pytest.mark.parametrize("text", ENGLISH_TEXTS)
def test_regex_fallback_tracks_spacy(text: str) -> None:
    """The offline fallback agrees with spaCy's English tokenizer on ordinary caption text."""
    spacy_tokens = get_tokenizer("en", "spacy")(text)
    regex_tokens = get_tokenizer("en", "regex")(text)
    assert regex_tokens == spacy_tokens


@pytest.mark.skipif(not HAS_SPACY, reason="no spaCy")
def test_char_fallback_equals_spacy_blank_chinese() -> None:
    import spacy

    nlp = spacy.blank("zh")  # per-character segmentation
    for text in ["博物 馆\n大厅", " 位于城市中心。", "博物馆\n\n大厅  ab cd"]:
        assert get_tokenizer("zh", "char")(text) == [t.text for t in nlp(text)]


@pytest.mark.parametrize("backend", EN_BACKENDS)
def test_newlines_are_tokens_as_upstream(backend: str) -> None:
    """spaCy keeps a newline as a token, so a blank broken across lines is no exact match upstream."""
    tok = get_tokenizer("en", backend)
    assert tok("hall\nof") == ["hall", "\n", "of"]
    s = score_blank("main hall\nof the museum", GT, "en", tok)
    assert s.exact_match == 0.0 and s.jaccard == pytest.approx(4 / 6)
    assert score_sample("main hall of the museum\nred fox", [GT, "red fox"], "en", tok)[1].exact_match == 1.0


def test_tokenizer_choices() -> None:
    assert get_tokenizer("en", "regex").name == "regex-en"
    assert get_tokenizer("zh", "char")("博物 馆") == ["博", "物", "馆"]
    assert get_tokenizer("zh", "char")("博物\n馆") == ["博", "物", "\n", "馆"]
    with pytest.raises(ValueError, match="backend"):
        get_tokenizer("en", "jieba")
    with pytest.raises(ValueError, match="language"):
        get_tokenizer("de")


def _upstream_best_window(tokens: list[str], gt_tokens: list[str], gt: str, joiner: str):
    """Upstream's loop, verbatim in behaviour: windows in order, start 0, strict '>'."""
    n = len(gt_tokens)
    best_val, best = 0.0, ()
    for i in range(len(tokens) - n + 1):
        window = tuple(tokens[i : i + n])
        if set(window).isdisjoint(gt_tokens):
            continue
        val = SequenceMatcher(None, joiner.join(window), gt).ratio()
        if val > best_val:
            best_val, best = val, window
    return best_val, best


@pytest.mark.parametrize("language", ["en", "zh"])
def test_fast_window_search_equals_upstream_loop(language: str) -> None:
    from vcr_wiki.eval.metrics import _best_window

    rng = np.random.default_rng(0)
    vocab = (
        ["ab", "abc", "b", "cab", "ba", "c", "aa"]
        if language == "en"
        else ["博物", "馆", "大", "厅", "客", "馆大"]
    )
    joiner = " " if language == "en" else ""
    for _ in range(400):
        gt_tokens = list(rng.choice(vocab, size=int(rng.integers(1, 5))))
        tokens = list(rng.choice(vocab, size=int(rng.integers(0, 14))))
        gt = joiner.join(gt_tokens)
        assert _best_window(tokens, gt_tokens, gt, joiner) == _upstream_best_window(
            tokens, gt_tokens, gt, joiner
        )


def test_lmms_eval_scorer_differs_only_before_the_assistant_marker() -> None:
    from vcr_wiki.eval.metrics import score_sample as score

    tok = get_tokenizer("en", "regex")
    gt = ["main hall of the museum"]
    refusal_first = "I'm sorry? Assistant: main hall of the museum"
    assert score(refusal_first, gt, "en", tok)[0].exact_match == 1.0
    assert score(refusal_first, gt, "en", tok, scorer="lmms-eval")[0].exact_match == 0.0
    echoed = "User: restore main hall of the museum Assistant: main room"
    assert score(echoed, gt, "en", tok)[0].exact_match == 0.0
    assert score(echoed, gt, "en", tok, scorer="lmms-eval")[0].exact_match == 1.0
    for answer in ("The text is: main hall of the museum.", "main room of the museum", "Sorry, I cannot"):
        a = score(answer, gt, "en", tok)[0]
        b = score(answer, gt, "en", tok, scorer="lmms-eval")[0]
        assert a == b
    with pytest.raises(ValueError, match="scorer"):
        score("x", gt, "en", tok, scorer="vlmevalkit")
