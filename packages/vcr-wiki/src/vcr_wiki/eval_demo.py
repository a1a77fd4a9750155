"""The evaluation half of ``vcr-wiki demo``: score the oracle and the OCR baseline on the built datasets.

For every dataset the builder demo wrote (``vcr-{lang}-{difficulty}``): the oracle on both image variants;
when Tesseract is installed, the OCR baseline on the first ``limit`` samples (both variants and their delta
on English easy, stacked elsewhere) and on an unmasked copy of each easy set (the reader's ceiling).
Writes ``eval/<name>/`` result folders and ``report.md``, and adds the scores to ``demo.json``.
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
        "n_samples": metrics["n_samples"],
    }
    if "delta" in metrics:
        out["delta_stacked_minus_text_only"] = {k: round(v, 2) for k, v in metrics["delta"].items()}
    return out


def run_eval_demo(
    out: str | os.PathLike[str],
    builder_result: dict[str, Any],
    seed: int = 0,
    *,
    limit: int = 12,
    workers: int = 2,
) -> dict[str, Any]:
    """Evaluate on the builder demo's datasets under ``out``; rewrites ``out/demo.json`` and returns it."""
    out = Path(out)
    evals: dict[str, Any] = {}
    results: list[Path] = []

    def run(name: str, dataset: Path, model: str, variant: str, n: int | None) -> None:
        dest = out / "eval" / name
        cfg = EvalConfig(
            dataset=str(dataset),
            model=model,
            out=str(dest),
            variant=variant,
            seed=seed,
            limit=n,
            workers=workers,
        )
        evals[name] = _summary(evaluate(cfg))
        results.append(dest)

    for ds in sorted(p for p in out.glob("vcr-*-*") if p.is_dir() and (p / "manifest.json").is_file()):
        _, lang, difficulty = ds.name.split("-", 2)
        run(f"{lang}-{difficulty}-oracle", ds, "oracle", "both", None)
        if not tesseract_available(lang):
            evals[f"{lang}-ocr-skipped"] = f"tesseract with {lang} data is not installed"
            continue
        both = lang == "en" and difficulty == "easy"
        run(f"{lang}-{difficulty}-ocr", ds, "ocr", "both" if both else "stacked", limit)
        if difficulty == "easy":
            control = write_unmasked_copy(ds, out / f"control-{lang}-unmasked")
            run(f"{lang}-unmasked-ocr", control, "ocr", "stacked", limit)
    if results:
        atomic_write_text(out / "report.md", render_report(results))
    parts = []
    if "en-easy-ocr" in evals:
        em = [
            evals.get(f"en-{k}-ocr", {}).get("exact_match", float("nan"))
            for k in ("easy", "hard", "unmasked")
        ]
        parts.append(f"OCR EM easy {em[0]:.0f} / hard {em[1]:.0f} / unmasked {em[2]:.0f}")
    if "en-easy-oracle" in evals:
        parts.append(f"oracle {evals['en-easy-oracle']['exact_match']:.0f}")
    result = dict(builder_result)
    result["builder_key_figure"] = builder_result.get("key_figure", "")
    if parts:
        result["key_figure"] = f"{builder_result.get('key_figure', '')}; en {', '.join(parts)}".lstrip("; ")
    result["eval"] = evals
    atomic_write_text(out / "demo.json", json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    return result
