"""The VCR evaluation: runners, upstream's metric (and lmms-eval's variant), reports."""

from vcr_wiki.eval.evaluate import EvalConfig, EvalSample, evaluate, load_eval_samples
from vcr_wiki.eval.metrics import SCORERS, BlankScore, aggregate_scores, score_blank, score_sample
from vcr_wiki.eval.report import render_report

__all__ = [
    "SCORERS",
    "BlankScore",
    "EvalConfig",
    "EvalSample",
    "aggregate_scores",
    "evaluate",
    "load_eval_samples",
    "render_report",
    "score_blank",
    "score_sample",
]
