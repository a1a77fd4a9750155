"""The short demo (what ``umbrella demo`` runs): a dense network loses plasticity, the sparse one keeps it.

Both arms train the same plain ReLU MLP on the same stream of non-stationary targets (random labels
redrawn every phase, Adam at a high learning rate); one dense, one with 90% of its weights removed once at
initialisation (ERK, the paper's recipe). Each phase runs to the end of its budget, so the comparison is
of converged phases, not of unfinished runs.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from sparse_drl.io import write_json
from sparse_drl.plasticity import ProbeConfig, run_probe
from sparse_drl.rundir import check_own_folder, open_out_folder

__all__ = ["DEMO_CONFIG", "DEMO_SPARSITY", "run_demo"]

DEMO_CONFIG = ProbeConfig(width=256, depth=3, phases=5, steps=300, lr=1e-2)
DEMO_SPARSITY = 0.9


def run_demo(out: str | os.PathLike[str], seed: int = 0) -> dict[str, Any]:
    """Run both arms, print one line per phase, write ``out/demo.json`` (``key_figure``, ``figures``)."""
    out = Path(out)
    check_own_folder(out, "demo")  # a rerun replaces its own demo.json; anyone else's folder is refused
    out = open_out_folder(out, "demo")  # the marker first
    torch.set_num_threads(1)
    cfg = DEMO_CONFIG
    arms = (("dense", 0.0), ("sparse", DEMO_SPARSITY))
    results: dict[str, dict[str, Any]] = {}
    for i, (label, sparsity) in enumerate(arms, 1):
        print(
            f"[{i}/{len(arms)}] {label} MLP {cfg.width}x{cfg.depth} ({sparsity:.0%} of weights removed): "
            f"{cfg.phases} phases of new random labels, {cfg.steps} Adam steps each (lr {cfg.lr:g})",
            flush=True,
        )

        def show(rec: dict[str, float], label: str = label) -> None:
            print(
                f"      {label} phase {int(rec['phase'])}/{cfg.phases}: accuracy {rec['accuracy']:.2f}, "
                f"dormant units {rec['dormant']:.2f}, srank {rec['srank']:.0f}",
                flush=True,
            )

        results[label] = run_probe(cfg, sparsity, seed, on_phase=show)
    dense, sparse = results["dense"]["phases"], results["sparse"]["phases"]
    figures = {
        "dense_acc_first": round(dense[0]["accuracy"], 2),
        "dense_acc_last": round(dense[-1]["accuracy"], 2),
        "sparse_acc_first": round(sparse[0]["accuracy"], 2),
        "sparse_acc_last": round(sparse[-1]["accuracy"], 2),
        "dense_dormant_last": round(dense[-1]["dormant"], 2),
        "sparse_dormant_last": round(sparse[-1]["dormant"], 2),
        "params": results["dense"]["params"],
        "sparse_effective_params": results["sparse"]["effective_params"],
    }
    key = f"last phase: sparse {figures['sparse_acc_last']:.2f} vs dense {figures['dense_acc_last']:.2f}"
    demo = {"key_figure": key, "figures": figures, "seed": seed, "runs": results}
    write_json(out / "demo.json", demo)
    return demo
