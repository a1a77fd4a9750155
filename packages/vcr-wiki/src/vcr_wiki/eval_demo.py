"""The evaluation half of ``vcr-wiki demo``: score the oracle and the OCR baseline on the built datasets.

For every dataset the builder demo wrote (``vcr-{lang}-{difficulty}``) it runs the oracle and, when Tesseract
is installed, the OCR baseline on both image variants (stacked and text-only, with their delta), the OCR
baseline on an unmasked copy of the easy set (the reader's ceiling), and renders ``report.md``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from vcr_wiki._io import atomic_write_text
from vcr_wiki.controls import write_unmasked_copy
from vcr_wiki.evaluate import EvalConfig, evaluate
from vcr_wiki.report import render_report
from vcr_wiki.runners.ocr import tesseract_available

__all__ = ["run_eval_demo"]


def _summary(metrics: dict) -> dict[str, Any]:
    out = {
        "exact_match": round(metrics["exact_match"], 2),
        "jaccard": round(metrics["jaccard"], 2),
        "n_blanks": metrics["n_blanks"],
    }
    if "delta" in metrics:
        out["delta_stacked_minus_text_only"] = {k: round(v, 2) for k, v in metrics["delta"].items()}
    return out


def run_eval_demo(
    out: str | os.PathLike[str], builder_result: dict[str, Any], seed: int = 0
) -> dict[str, Any]:
    """Evaluate on the builder demo's datasets under ``out``; rewrites ``out/demo.json`` and returns it."""
    out = Path(out)
    evals: dict[str, Any] = {}
    results: list[Path] = []
    datasets = sorted(p for p in out.glob("vcr-*-*") if p.is_dir() and (p / "data").is_dir())
    for ds in datasets:
        lang = ds.name.split("-")[1]
        models = ["oracle"] + (["ocr"] if tesseract_available(lang) else [])
        for model in models:
            dest = out / "eval" / f"{ds.name.removeprefix('vcr-')}-{model}"
            metrics = evaluate(
                EvalConfig(dataset=str(ds), model=model, out=str(dest), variant="both", seed=seed)
            )
            evals[dest.name] = _summary(metrics)
            results.append(dest)
        if ds.name.endswith("-easy") and "ocr" in models:
            control = write_unmasked_copy(ds, out / f"vcr-{lang}-unmasked-control")
            dest = out / "eval" / f"{lang}-unmasked-ocr"
            metrics = evaluate(EvalConfig(dataset=str(control), model="ocr", out=str(dest), seed=seed))
            evals[dest.name] = _summary(metrics)
    if not tesseract_available("en"):
        evals["ocr_skipped"] = (
            "tesseract is not installed (apt-get install tesseract-ocr tesseract-ocr-eng ...)"
        )
    if results:
        atomic_write_text(out / "report.md", render_report(results))
    parts = []
    if "en-easy-ocr" in evals:
        ocr = [evals.get(f"en-{k}-ocr", {}).get("exact_match", float("nan")) for k in ("easy", "hard")]
        ceiling = evals.get("en-unmasked-ocr", {}).get("exact_match", float("nan"))
        parts.append(f"OCR EM en easy {ocr[0]:.1f} / hard {ocr[1]:.1f} (unmasked {ceiling:.1f})")
    if "en-easy-oracle" in evals:
        parts.append(f"oracle {evals['en-easy-oracle']['exact_match']:.0f}")
    result = dict(builder_result)
    result["builder_key_figure"] = builder_result.get("key_figure", "")
    result["key_figure"] = "; ".join([builder_result.get("key_figure", ""), *parts]).strip("; ")
    result["eval"] = evals
    atomic_write_text(out / "demo.json", json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    return result
