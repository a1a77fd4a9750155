"""Command line interface of ``rice-n``."""

from __future__ import annotations

import argparse
import sys

from rice_n import __version__


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the ``rice-n`` command."""
    parser = argparse.ArgumentParser(
        prog="rice-n",
        description="The RICE-N multi-region climate-economy simulator, negotiation protocols and multi-agent RL.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="run the short end-to-end demo (used by `umbrella demo`)")
    demo.add_argument("--out", default="demo-out", help="folder for the demo's outputs")
    demo.add_argument("--seed", type=int, default=0, help="random seed")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``rice-n`` console script."""
    args = build_parser().parse_args(argv)
    if args.command == "demo":
        print("rice-n demo: not built yet (its issue has not landed)", file=sys.stderr)
        return 3
    return 0
