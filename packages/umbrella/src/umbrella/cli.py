"""The ``umbrella`` command: ``info`` and ``demo``."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from umbrella import __version__
from umbrella.components import COMPONENTS
from umbrella.demo import default_jobs, format_table, run_demos, summary_table


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the ``umbrella`` command."""
    parser = argparse.ArgumentParser(
        prog="umbrella", description="Reach every research package from one CLI."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("info", help="list the components and their installed versions")
    demo = sub.add_parser("demo", help="run the demo of every installed component")
    demo.add_argument("--out", type=Path, default=Path("umbrella-demo"), help="folder for all outputs")
    demo.add_argument("--seed", type=int, default=0, help="random seed passed to every demo")
    demo.add_argument(
        "--only",
        nargs="+",
        choices=[c.dist for c in COMPONENTS],
        help="run only these components",
    )
    demo.add_argument("--timeout", type=float, default=1800.0, help="seconds allowed per component")
    demo.add_argument(
        "--jobs",
        type=int,
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
    start = time.perf_counter()
    outcomes = run_demos(out, seed=seed, only=only, timeout=timeout, jobs=jobs, echo=echo)
    wall = time.perf_counter() - start
    cpu = sum(o.cpu_seconds for o in outcomes)
    print(summary_table(outcomes))
    print(f"all demos: {wall:.0f} s wall, {cpu:.0f} CPU-s, {jobs} at a time")
    print(f"outputs in {out}")
    out.mkdir(parents=True, exist_ok=True)
    summary = {
        "umbrella": __version__,
        "seed": seed,
        "jobs": jobs,
        "wall_seconds": round(wall, 1),
        "cpu_seconds": round(cpu, 1),
        "components": [vars(o) for o in outcomes],
    }
    tmp = out / "summary.json.tmp"
    tmp.write_text(json.dumps(summary, indent=2), encoding="utf-8")
    tmp.replace(out / "summary.json")
    return 1 if any(o.status in ("failed", "timeout") for o in outcomes) else 0


def first_non_folder(path: Path) -> Path | None:
    """The first existing path among ``path`` and its parents that is not a folder, or None."""
    for candidate in [path, *path.parents]:
        if candidate.exists():
            return None if candidate.is_dir() else candidate
    return None


def echo(line: str) -> None:
    """Print one streamed line of a component's progress at once."""
    print(line, flush=True)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``umbrella`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "info":
        return info()
    if args.jobs < 1:
        parser.error(f"--jobs must be at least 1, got {args.jobs}")
    if args.timeout <= 0:
        parser.error(f"--timeout must be positive, got {args.timeout}")
    if blocker := first_non_folder(args.out):
        parser.error(f"--out {args.out}: {blocker} exists and is not a folder")
    return demo(args.out, args.seed, args.only, args.timeout, args.jobs)
