"""The ``umbrella`` command: ``info`` and ``demo``."""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path
from typing import NoReturn

from umbrella import __version__
from umbrella.components import COMPONENTS
from umbrella.demo import default_jobs, format_table, run_demos, summary_table
from umbrella.outdir import MARKER, OutFolderError, check_out, claim, write_atomically

MAX_TIMEOUT = 7 * 24 * 3600.0  # a week: longer is a typo, and threads cannot wait past ~2**33 s
MAX_SEED = 2**32 - 1


class OneLineParser(argparse.ArgumentParser):
    """An argument parser whose errors are one line on stderr (no usage block), exit status 2."""

    def error(self, message: str) -> NoReturn:
        """Print ``prog: error: message`` on one line and exit 2."""
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        raise SystemExit(2)


def timeout_seconds(text: str) -> float:
    """A per-component timeout: a finite number of seconds, above 0 and at most a week."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not math.isfinite(value) or not 0 < value <= MAX_TIMEOUT:
        raise argparse.ArgumentTypeError(f"must be above 0 and at most {MAX_TIMEOUT:.0f} s, got {text!r}")
    return value


def seed_value(text: str) -> int:
    """A seed: an integer from 0 to 2**32 - 1 (what every component's random generators accept)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if not 0 <= value <= MAX_SEED:
        raise argparse.ArgumentTypeError(f"must be from 0 to {MAX_SEED}, got {text!r}")
    return value


def jobs_value(text: str) -> int:
    """How many demos run at once: an integer of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the ``umbrella`` command."""
    parser = OneLineParser(prog="umbrella", description="Reach every research package from one CLI.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("info", help="list the components and their installed versions")
    demo = sub.add_parser("demo", help="run the demo of every installed component")
    demo.add_argument(
        "--out",
        type=Path,
        default=Path("umbrella-demo"),
        help=f"folder for all outputs: missing, empty, or an earlier demo's (marked by {MARKER})",
    )
    demo.add_argument("--seed", type=seed_value, default=0, help="random seed passed to every demo")
    demo.add_argument(
        "--only",
        nargs="+",
        choices=[c.dist for c in COMPONENTS],
        help="run only these components",
    )
    demo.add_argument(
        "--timeout",
        type=timeout_seconds,
        default=1800.0,
        help="seconds allowed per component (at most a week)",
    )
    demo.add_argument(
        "--jobs",
        type=jobs_value,
        default=default_jobs(),
        help="demos run at once (default: one per core, at most 2; each demo uses one thread)",
    )
    return parser


def info() -> int:
    """Print the components and their installed versions."""
    rows = [[c.dist, c.installed_version() or "not installed", c.summary] for c in COMPONENTS]
    print(f"umbrella {__version__}")
    print(format_table(rows, ["component", "version", "what it is"]))
    return 0


def demo(out: Path, seed: int, only: list[str] | None, timeout: float, jobs: int) -> int:
    """Run the demos, print the summary table, write ``summary.json``; fail if any demo failed."""
    claim(out)
    start = time.perf_counter()
    outcomes = run_demos(out, seed=seed, only=only, timeout=timeout, jobs=jobs, echo=echo)
    wall = time.perf_counter() - start
    cpu = sum(o.cpu_seconds for o in outcomes)
    print(summary_table(outcomes))
    print(f"all demos: {wall:.0f} s wall, {cpu:.0f} CPU-s, {jobs} at a time")
    print(f"outputs in {out}")
    summary = {
        "umbrella": __version__,
        "seed": seed,
        "jobs": jobs,
        "wall_seconds": round(wall, 1),
        "cpu_seconds": round(cpu, 1),
        "components": [vars(o) for o in outcomes],
    }
    write_atomically(out / "summary.json", json.dumps(summary, indent=2))
    return 1 if any(o.status in ("failed", "timeout") for o in outcomes) else 0


def echo(line: str) -> None:
    """Print one streamed line of a component's progress at once."""
    print(line, flush=True)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``umbrella`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "info":
        return info()
    try:
        check_out(args.out)
    except OutFolderError as error:
        parser.error(str(error))
    return demo(args.out, args.seed, args.only, args.timeout, args.jobs)
