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
from typing import Any, NoReturn

from vcr_wiki import __version__
from vcr_wiki._flags import add_config_flags, config_values, parse_int
from vcr_wiki.builder.inputs import FORMATS, InputSpec
from vcr_wiki.builder.masks import DIFFICULTIES
from vcr_wiki.builder.png import DEFLATE_BACKENDS
from vcr_wiki.builder.render import LANGS
from vcr_wiki.builder.sample import BuildConfig
from vcr_wiki.eval.cli import add_eval, add_report
from vcr_wiki.tokens import BACKENDS


def _positive_or_none(text: str) -> int | None:
    value = parse_int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text!r}")
    return value or None


def _censor_file(text: str) -> tuple[str, ...]:
    path = Path(text)
    if "\0" in text or not path.is_file():
        raise argparse.ArgumentTypeError(f"censor list {text!r} is not a file")
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise argparse.ArgumentTypeError(f"censor list {text!r} is not readable UTF-8 text ({exc})") from None
    return tuple(w.strip() for w in lines if w.strip())


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


BUILD_HELP = {
    "lang": "caption language",
    "difficulty": "mask band",
    "seed": "random seed of the n-gram choice (paper: 42)",
    "n": "tokens per hidden n-gram (paper: 5)",
    "mask_p": "max share of eligible tokens per sentence",
    "font": "font file (None: the shipped Liberation Sans / a system CJK font)",
    "font_size": "font size in px (paper: 20)",
    "width": "resize images to this width; 0 keeps each image's width",
    "max_height": "drop images taller than this after resizing; 0: no limit",
    "max_lines": "caption lines kept (paper: 5)",
    "nlp": "tokenizer (auto: spaCy if installed, else offline)",
    "split": "split name of the shard files and the card (test: the split upstream's inference and "
    "lmms-eval read)",
    "shard_size": "input rows per shard",
    "censor": "file of censored words, one per line (substring match); () : none",
    "png_deflate": "PNG deflate backend (auto: isal if installed, 3x faster)",
}
BUILD_CHOICES = {
    "lang": LANGS,
    "difficulty": DIFFICULTIES,
    "nlp": BACKENDS,
    "png_deflate": DEFLATE_BACKENDS,
}
BUILD_PARSERS = {"width": _positive_or_none, "max_height": _positive_or_none, "censor": _censor_file}
SHOW_EXCLUDE = ("difficulty", "split", "shard_size")  # show renders original | easy | hard


def _add_config_args(p: argparse.ArgumentParser, exclude: tuple[str, ...] = ()) -> None:
    """Flags of every ``BuildConfig`` field (but ``exclude``), with the dataclass defaults."""
    fields = add_config_flags(
        p, BuildConfig, BUILD_HELP, exclude=exclude, choices=BUILD_CHOICES, parsers=BUILD_PARSERS
    )
    p.set_defaults(config_fields=fields)


def _config(args: argparse.Namespace, **fixed: Any) -> BuildConfig:
    return BuildConfig(**config_values(args, args.config_fields), **fixed)


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


def add_build(sub: argparse._SubParsersAction[Any]) -> None:
    """The ``build`` subcommand."""
    p = sub.add_parser("build", help="build a VCR dataset (Parquet shards) from local image-caption pairs")
    _add_input_args(p)
    p.add_argument("--out", required=True, help="output folder")
    _add_config_args(p)
    p.add_argument(
        "--workers",
        type=parse_int,
        default=None,
        help="--engine local: parallel worker processes (default: 1)",
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
    config = _config(args)
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


def add_show(sub: argparse._SubParsersAction[Any]) -> None:
    """The ``show`` subcommand."""
    p = sub.add_parser("show", help="render a few samples side by side (original | easy | hard) to PNG")
    _add_input_args(p)
    p.add_argument("--out", required=True, help="output folder for show-*.png")
    p.add_argument("--count", type=parse_int, default=4, help="number of samples")
    _add_config_args(p, exclude=SHOW_EXCLUDE)
    p.set_defaults(func=run_show)


def run_show(args: argparse.Namespace) -> int:
    """Run ``vcr-wiki show``."""
    from vcr_wiki.builder.show import show_samples

    paths = show_samples(_spec(args), args.out, _config(args, difficulty="easy"), count=args.count)
    for p in paths:
        print(p)
    if not paths:
        print("vcr-wiki show: no usable sample in the input", file=sys.stderr)
        return 1
    return 0


def add_demo(sub: argparse._SubParsersAction[Any]) -> None:
    """The ``demo`` subcommand."""
    p = sub.add_parser(
        "demo",
        help="build small datasets from the shipped sample data and score the oracle and OCR on them",
        description="Builds en (and zh, with a CJK font) easy and hard datasets from the shipped sample "
        "data, scores the oracle and the Tesseract OCR baseline (unmasked, easy, hard) and writes "
        "DIR/demo.json (key_figure, figures) and DIR/report.md. Used by `umbrella demo`.",
    )
    p.add_argument("--out", default="demo-out", help="folder for the demo's outputs")
    p.add_argument("--seed", type=parse_int, default=0, help="random seed of the n-gram choice")
    p.set_defaults(func=run_demo)


def run_demo(args: argparse.Namespace) -> int:
    """Run ``vcr-wiki demo``: writes DIR/demo.json with a ``key_figure``."""
    from vcr_wiki.demo import run_demo

    run_demo(args.out, seed=args.seed)
    return 0


SUBCOMMANDS = [add_build, add_show, add_demo, add_eval, add_report]


class OneLineParser(argparse.ArgumentParser):
    """An argument parser whose errors are one line on stderr (no usage block), exit 2."""

    def error(self, message: str) -> NoReturn:
        """Print ``PROG: error: MESSAGE`` on one line and exit 2."""
        self.exit(2, f"{self.prog}: error: {' '.join(message.split())}\n")


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the ``vcr-wiki`` command."""
    parser = OneLineParser(
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
