"""Command line interface of ``vcr-wiki``: build, show, demo, eval, report.

Each subcommand is a pair ``add_<name>(subparsers)`` / ``run_<name>(args) -> int``; ``add_*`` sets
``func`` so that ``main`` dispatches on it, and further subcommands plug in the same way.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from vcr_wiki import __version__
from vcr_wiki.builder.inputs import FORMATS, InputSpec
from vcr_wiki.builder.sample import BuildConfig
from vcr_wiki.eval.cli import add_eval, add_report
from vcr_wiki.tokens import BACKENDS


def _positive_or_none(text: str) -> int | None:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text!r}")
    return value or None


def _add_input_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--input", required=True, help="pairs table: .jsonl/.csv/.parquet, a folder, or a WIT .tsv[.gz]"
    )
    p.add_argument("--format", choices=FORMATS, default=None, help="input format (default: from the path)")
    p.add_argument("--image-column", default="image", help="column with the image path or bytes")
    p.add_argument("--caption-column", default="caption", help="column with the caption")
    p.add_argument(
        "--image-root", default=None, help="folder image paths are relative to (default: the table's)"
    )
    p.add_argument(
        "--wit-language", default=None, help="WIT TSV: keep rows of this language (default: --lang)"
    )
    p.add_argument(
        "--allow-outside-paths",
        action="store_true",
        help="allow image paths outside the input folder (absolute, '..', links); refused by default",
    )


def _add_render_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--lang", choices=("en", "zh"), default="en", help="caption language")
    p.add_argument("--seed", type=int, default=42, help="random seed of the n-gram choice (paper: 42)")
    p.add_argument(
        "--font", default=None, help="font file (default: shipped Liberation Sans / a system CJK font)"
    )
    p.add_argument("--font-size", type=int, default=20, help="font size in px (paper: 20)")
    p.add_argument(
        "--width", type=_positive_or_none, default=300, help="resize images to this width; 0 keeps it"
    )
    p.add_argument(
        "--max-height", type=_positive_or_none, default=900, help="drop taller images; 0: no limit"
    )
    p.add_argument("--max-lines", type=int, default=5, help="caption lines kept (paper: 5)")
    p.add_argument("--n", type=int, default=5, help="tokens per hidden n-gram (paper: 5)")
    p.add_argument("--mask-p", type=float, default=0.5, help="max share of eligible tokens per sentence")
    p.add_argument(
        "--nlp", choices=BACKENDS, default="auto", help="tokenizer (auto: spaCy if installed, else offline)"
    )
    p.add_argument("--censor", default=None, help="file of censored words, one per line (substring match)")
    p.add_argument("--png-deflate", choices=("auto", "isal", "zlib"), default="auto",
                   help="PNG deflate backend (auto: isal if installed, 3x faster)")  # fmt: skip


def _config(args: argparse.Namespace, difficulty: str) -> BuildConfig:
    censor: tuple[str, ...] = ()
    if args.censor:
        path = Path(args.censor)
        if not path.is_file():
            raise FileNotFoundError(f"censor list {args.censor!r} is not a file")
        censor = tuple(w.strip() for w in path.read_text(encoding="utf-8").splitlines() if w.strip())
    return BuildConfig(
        lang=args.lang,
        difficulty=difficulty,
        seed=args.seed,
        n=args.n,
        mask_p=args.mask_p,
        font=args.font,
        font_size=args.font_size,
        width=args.width,
        max_height=args.max_height,
        max_lines=args.max_lines,
        nlp=args.nlp,
        split=getattr(args, "split", "test"),
        shard_size=getattr(args, "shard_size", 1000),
        censor=censor,
        png_deflate=args.png_deflate,
    )


def _spec(args: argparse.Namespace) -> InputSpec:
    language = args.wit_language or args.lang
    return InputSpec(
        args.input,
        args.format,
        args.image_column,
        args.caption_column,
        args.image_root,
        language,
        args.allow_outside_paths,
    )


def add_build(sub: argparse._SubParsersAction) -> None:
    """The ``build`` subcommand."""
    p = sub.add_parser("build", help="build a VCR dataset (Parquet shards) from local image-caption pairs")
    _add_input_args(p)
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--difficulty", choices=("easy", "hard"), default="easy", help="mask band")
    _add_render_args(p)
    p.add_argument(
        "--split",
        default="test",
        help="split name used in shard file names and the card (default: test, the split upstream's "
        "inference and lmms-eval read)",
    )
    p.add_argument("--shard-size", type=int, default=1000, help="input rows per shard")
    p.add_argument(
        "--workers", type=int, default=None, help="--engine local: parallel worker processes (default: 1)"
    )
    p.add_argument("--engine", choices=("local", "ray"), default="local", help="where shards are built")
    p.add_argument(
        "--address",
        default=None,
        help="--engine ray: an existing cluster, HOST:PORT, ray://HOST:PORT or auto (default: start one "
        "on 127.0.0.1)",
    )
    p.add_argument("--resume", action="store_true", help="continue a build in progress in --out, or reuse it")
    p.add_argument(
        "--overwrite", action="store_true", help="replace the dataset in --out once the new one is finished"
    )
    p.add_argument(
        "--strict", action="store_true", help="an unreadable input row is an error (default: dropped)"
    )
    p.add_argument(
        "--shards", default=None, help="build only shards START:END (split a build across machines)"
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run_build)


def run_build(args: argparse.Namespace) -> int:
    """Run ``vcr-wiki build``."""
    from vcr_wiki.builder.builder import build_dataset

    if args.engine == "local" and args.address is not None:
        raise ValueError(f"--address {args.address!r} does nothing with --engine local; pass --engine ray")
    if args.engine == "ray" and args.workers is not None:
        raise ValueError("--workers does nothing with --engine ray (Ray runs one task per CPU); leave it out")
    config = _config(args, args.difficulty)
    t0 = time.perf_counter()
    manifest = build_dataset(
        _spec(args),
        args.out,
        config,
        workers=1 if args.workers is None else args.workers,
        resume=args.resume,
        overwrite=args.overwrite,
        shards=args.shards,
        strict=args.strict,
        progress=not args.no_progress,
        engine=args.engine,
        address=args.address,
    )
    dt = time.perf_counter() - t0
    summary = {
        k: manifest[k] for k in ("rows_in", "rows_out", "dropped", "n_shards", "shards_done", "complete")
    }
    summary["seconds"] = round(dt, 2)
    print(json.dumps(summary))
    return 0


def add_show(sub: argparse._SubParsersAction) -> None:
    """The ``show`` subcommand."""
    p = sub.add_parser("show", help="render a few samples side by side (original | easy | hard) to PNG")
    _add_input_args(p)
    p.add_argument("--out", required=True, help="output folder for show-*.png")
    p.add_argument("--count", type=int, default=4, help="number of samples")
    _add_render_args(p)
    p.set_defaults(func=run_show)


def run_show(args: argparse.Namespace) -> int:
    """Run ``vcr-wiki show``."""
    from vcr_wiki.builder.show import show_samples

    paths = show_samples(_spec(args), args.out, _config(args, "easy"), count=args.count)
    for p in paths:
        print(p)
    if not paths:
        print("vcr-wiki show: no usable sample in the input", file=sys.stderr)
        return 1
    return 0


def add_demo(sub: argparse._SubParsersAction) -> None:
    """The ``demo`` subcommand."""
    p = sub.add_parser(
        "demo",
        help="build small datasets from the shipped sample data and score the oracle and OCR on them",
        description="Builds en (and zh, with a CJK font) easy and hard datasets from the shipped sample "
        "data, scores the oracle and the Tesseract OCR baseline (unmasked, easy, hard) and writes "
        "DIR/demo.json (key_figure, figures) and DIR/report.md. Used by `umbrella demo`.",
    )
    p.add_argument("--out", default="demo-out", help="folder for the demo's outputs")
    p.add_argument("--seed", type=int, default=0, help="random seed of the n-gram choice")
    p.set_defaults(func=run_demo)


def run_demo(args: argparse.Namespace) -> int:
    """Run ``vcr-wiki demo``: writes DIR/demo.json with a ``key_figure``."""
    from vcr_wiki.demo import run_demo

    run_demo(args.out, seed=args.seed)
    return 0


SUBCOMMANDS = [add_build, add_show, add_demo, add_eval, add_report]


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the ``vcr-wiki`` command."""
    parser = argparse.ArgumentParser(
        prog="vcr-wiki",
        description="The Visual Caption Restoration (VCR) dataset builder and its evaluation.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    for add in SUBCOMMANDS:
        add(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``vcr-wiki`` console script."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except (OSError, ValueError, RuntimeError, ImportError, KeyError) as exc:
        message = " ".join(str(exc).split())  # one line
        print(f"vcr-wiki {args.command}: error: {message}", file=sys.stderr)
        return 2
