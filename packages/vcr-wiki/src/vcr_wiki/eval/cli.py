"""The ``eval`` and ``report`` subcommands (plugged into :mod:`vcr_wiki.cli`)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from vcr_wiki._flags import add_config_flags, config_values, parse_int
from vcr_wiki.eval.evaluate import EvalConfig
from vcr_wiki.eval.metrics import SCORERS
from vcr_wiki.tokens import BACKENDS

__all__ = ["add_eval", "add_report", "run_eval", "run_report"]


EVAL_HELP = {
    "dataset": "folder of a built dataset (Parquet shards) or one shard",
    "model": "'oracle' (ground truth), 'ocr' (Tesseract), 'rapidocr' (RapidOCR, reads Chinese), 'copy-visible' "
    "(caption minus the blanks) or a local vision-language model folder",
    "out": "output folder",
    "variant": "image variant",
    "seed": "seed of the bootstrap resampling",
    "batch_size": "samples per predict() call",
    "limit": "evaluate only the first N samples (None: all)",
    "language": "language (None: from the dataset)",
    "tokenizer": "metric tokenizer (auto: spaCy when installed, as upstream; else the offline fallback)",
    "max_new_tokens": "generation budget (None: upstream's 2 x caption tokens; lmms-eval uses 120)",
    "device": "transformers device: auto, cpu, cuda, cuda:1, ...",
    "dtype": "model dtype",
    "n_resamples": "bootstrap resamples (upstream: 1000)",
    "fresh": "discard predictions already in OUT instead of resuming",
    "workers": "OCR: tesseract processes in parallel",
    "scorer": "upstream (VCR, VLMEvalKit: answer cut at the last 'Assistant: ') or lmms-eval (whole answer)",
    "progress": "a progress bar",
}
DTYPES = ("auto", "bf16", "fp16", "fp32")
LANGS = ("en", "zh")


def _positive(text: str) -> int:
    value = parse_int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def add_eval(sub: argparse._SubParsersAction[Any]) -> None:
    """The ``eval`` subcommand."""
    p = sub.add_parser(
        "eval",
        help="score a model (oracle, ocr, copy-visible or a local VLM folder) on a built VCR dataset",
        description="Writes OUT/predictions-<variant>.jsonl, OUT/metrics.json and OUT/table.md; resumes from "
        "the predictions already in OUT.",
    )
    fields = add_config_flags(
        p,
        EvalConfig,
        EVAL_HELP,
        exclude=("extra",),  # runner keyword arguments: Python API only
        choices={
            "variant": ("stacked", "text-only", "both"),
            "language": LANGS,
            "tokenizer": BACKENDS,
            "dtype": DTYPES,
            "scorer": SCORERS,
        },
        parsers={
            name: _positive for name in ("batch_size", "limit", "max_new_tokens", "workers", "n_resamples")
        },
        aliases={"language": ("--lang",), "n_resamples": ("--bootstrap",)},
    )
    p.add_argument("--no-progress", dest="progress", action="store_false", help="same as --progress false")
    p.set_defaults(config_fields=fields)
    p.set_defaults(func=run_eval)


def run_eval(args: argparse.Namespace) -> int:
    """Run ``vcr-wiki eval``: prints the metrics summary as one JSON line."""
    from vcr_wiki.eval.evaluate import evaluate

    config = EvalConfig(**config_values(args, args.config_fields))
    metrics = evaluate(config)
    keys = ("task", "model", "exact_match", "jaccard", "n_blanks", "tokenizer", "scorer")
    summary = {k: metrics[k] for k in keys}
    if "delta" in metrics:
        summary["delta"] = metrics["delta"]
    print(json.dumps(summary, ensure_ascii=False))
    return 0


def add_report(sub: argparse._SubParsersAction[Any]) -> None:
    """The ``report`` subcommand."""
    p = sub.add_parser("report", help="markdown table of eval results beside the paper's reference numbers")
    p.add_argument("results", nargs="+", help="metrics.json files (or eval output folders)")
    p.add_argument("--out", required=True, help="output folder (writes OUT/report.md)")
    p.add_argument("--seed", type=parse_int, default=0, help="unused (every subcommand takes --seed)")
    p.add_argument("--no-paper", action="store_true", help="leave out the paper's reference rows")
    p.set_defaults(func=run_report)


def run_report(args: argparse.Namespace) -> int:
    """Run ``vcr-wiki report``: writes OUT/report.md and prints it."""
    from vcr_wiki._io import atomic_write_text
    from vcr_wiki._marker import check_folder, claim
    from vcr_wiki.eval.report import render_report

    text = render_report(args.results, include_paper=not args.no_paper)
    out = Path(args.out)
    check_folder(out, "report")
    claim(out, "report")
    atomic_write_text(out / "report.md", text)
    print(text, end="")
    return 0
