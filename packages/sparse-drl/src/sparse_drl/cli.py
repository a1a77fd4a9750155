"""Command line interface of ``sparse-drl``."""

from __future__ import annotations

import argparse
import sys

from sparse_drl import __version__


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the ``sparse-drl`` command."""
    parser = argparse.ArgumentParser(
        prog="sparse-drl",
        description="One-shot random pruning (static sparsity) for deep-RL networks, agents and plasticity diagnostics.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="run the short end-to-end demo (used by `umbrella demo`)")
    demo.add_argument("--out", default="demo-out", help="folder for the demo's outputs")
    demo.add_argument("--seed", type=int, default=0, help="random seed")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``sparse-drl`` console script."""
    args = build_parser().parse_args(argv)
    if args.command == "demo":
        print("sparse-drl demo: not built yet (its issue has not landed)", file=sys.stderr)
        return 3
    return 0
