"""The ``eval`` and ``report`` subcommands (plugged into :mod:`vcr_wiki.cli`)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from vcr_wiki.eval.metrics import SCORERS
from vcr_wiki.tokens import BACKENDS

__all__ = ["add_eval", "add_report", "run_eval", "run_report"]


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def add_eval(sub: argparse._SubParsersAction) -> None:
    """The ``eval`` subcommand."""
    p = sub.add_parser(
        "eval",
        help="score a model (oracle, ocr, copy-visible or a local VLM folder) on a built VCR dataset",
        description="Writes OUT/predictions-<variant>.jsonl, OUT/metrics.json and OUT/table.md; resumes from "
        "the predictions already in OUT.",
    )
    p.add_argument("--dataset", required=True, help="folder of a built dataset (Parquet shards) or one shard")
    p.add_argument(
        "--model",
        required=True,
        help="'oracle' (ground truth), 'ocr' (Tesseract), 'rapidocr' (RapidOCR, reads Chinese), 'copy-visible' "
        "(caption minus the blanks) or a local vision-language model folder",
    )
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument(
        "--variant", choices=("stacked", "text-only", "both"), default="stacked", help="image variant"
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the bootstrap resampling")
    p.add_argument("--batch-size", type=_positive, default=8, help="samples per predict() call")
    p.add_argument("--limit", type=_positive, default=None, help="evaluate only the first N samples")
    p.add_argument("--lang", choices=("en", "zh"), default=None, help="language (default: from the dataset)")
    p.add_argument(
        "--tokenizer",
        choices=BACKENDS,
        default="auto",
        help="metric tokenizer (auto: spaCy when installed, as upstream; else the offline fallback)",
    )
    p.add_argument(
        "--scorer",
        choices=SCORERS,
        default="upstream",
        help="upstream (VCR, VLMEvalKit: answer cut at the last 'Assistant: ') or lmms-eval (whole answer)",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument(
        "--max-new-tokens",
        type=_positive,
        default=None,
        help="generation budget (default: upstream's 2 x caption tokens; lmms-eval uses 120)",
    )
    p.add_argument("--device", default="auto", help="transformers device: auto, cpu, cuda, cuda:1, ...")
    p.add_argument("--dtype", default="auto", choices=("auto", "bf16", "fp16", "fp32"), help="model dtype")
    p.add_argument("--workers", type=_positive, default=1, help="OCR: tesseract processes in parallel")
    p.add_argument("--bootstrap", type=_positive, default=1000, help="bootstrap resamples (upstream: 1000)")
    p.add_argument(
        "--fresh", action="store_true", help="discard predictions already in OUT instead of resuming"
    )
    p.set_defaults(func=run_eval)


def run_eval(args: argparse.Namespace) -> int:
    """Run ``vcr-wiki eval``: prints the metrics summary as one JSON line."""
    from vcr_wiki.eval.evaluate import EvalConfig, evaluate

    config = EvalConfig(
        dataset=args.dataset,
        model=args.model,
        out=args.out,
        variant=args.variant,
        seed=args.seed,
        batch_size=args.batch_size,
        limit=args.limit,
        language=args.lang,
        tokenizer=args.tokenizer,
        max_new_tokens=args.max_new_tokens,
        device=args.device,
        dtype=args.dtype,
        n_resamples=args.bootstrap,
        fresh=args.fresh,
        workers=args.workers,
        scorer=args.scorer,
        progress=not args.no_progress,
    )
    metrics = evaluate(config)
    keys = ("task", "model", "exact_match", "jaccard", "n_blanks", "tokenizer", "scorer")
    summary = {k: metrics[k] for k in keys}
    if "delta" in metrics:
        summary["delta"] = metrics["delta"]
    print(json.dumps(summary, ensure_ascii=False))
    return 0


def add_report(sub: argparse._SubParsersAction) -> None:
    """The ``report`` subcommand."""
    p = sub.add_parser("report", help="markdown table of eval results beside the paper's reference numbers")
    p.add_argument("results", nargs="+", help="metrics.json files (or eval output folders)")
    p.add_argument("--out", required=True, help="output folder (writes OUT/report.md)")
    p.add_argument("--seed", type=int, default=0, help="unused (every subcommand takes --seed)")
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
