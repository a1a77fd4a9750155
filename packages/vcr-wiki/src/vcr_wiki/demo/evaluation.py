"""The evaluation half of ``vcr-wiki demo``: the oracle and the OCR baseline on the demo's datasets.

The paper's point in small: a reader that reads every visible character (Tesseract) gets the unmasked
captions right, while the masked n-grams defeat it (easy) and defeat it more (hard); the oracle scores 100.
Writes ``eval/<name>/`` result folders and ``report.md`` under ``out``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from vcr_wiki._io import atomic_write_text
from vcr_wiki.eval.controls import write_unmasked_copy
from vcr_wiki.eval.evaluate import EvalConfig, evaluate
from vcr_wiki.eval.report import render_report
from vcr_wiki.eval.runners.ocr import tesseract_available

__all__ = ["run_eval_demo"]


def run_eval_demo(
    out: str | os.PathLike[str],
    langs: list[str],
    seed: int = 0,
    *,
    limit: int = 6,
    say: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Score the oracle and OCR on ``out/vcr-{lang}-{easy,hard}``; returns ``{"scores": ..., "notes": ...}``.

    ``scores`` maps ``"{lang}-{set}-{model}"`` to ``{"exact_match", "jaccard", "n_blanks"}``.
    """
    out = Path(out)
    scores: dict[str, Any] = {}
    notes: list[str] = []
    results: list[Path] = []

    def run(name: str, dataset: Path, model: str, n: int | None) -> None:
        dest = out / "eval" / name
        cfg = EvalConfig(
            dataset=str(dataset), model=model, out=str(dest), seed=seed, limit=n, fresh=True, progress=False,
            tokenizer="regex" if name.startswith("en") else "char",
        )  # fmt: skip
        m = evaluate(cfg)
        scores[name] = {"exact_match": m["exact_match"], "jaccard": m["jaccard"], "n_blanks": m["n_blanks"]}
        results.append(dest)

    for lang in langs:
        for difficulty in ("easy", "hard"):
            say(f"[eval] {lang} {difficulty}: oracle on every sample ...")
            run(f"{lang}-{difficulty}-oracle", out / f"vcr-{lang}-{difficulty}", "oracle", None)
        if not tesseract_available(lang):
            note = f"OCR skipped for {lang}: tesseract with its {lang} data is not installed"
            notes.append(note)
            say(f"[eval] {note} (apt-get install tesseract-ocr tesseract-ocr-eng tesseract-ocr-chi-sim)")
            continue
        control = write_unmasked_copy(out / f"vcr-{lang}-easy", out / f"control-{lang}-unmasked")
        for name, dataset in (
            ("unmasked", control),
            ("easy", out / f"vcr-{lang}-easy"),
            ("hard", out / f"vcr-{lang}-hard"),
        ):
            say(f"[eval] {lang} {name}: Tesseract OCR on the first {limit} samples ...")
            run(f"{lang}-{name}-ocr", dataset, "ocr", limit)
    atomic_write_text(out / "report.md", render_report(results))
    return {"scores": scores, "notes": notes}
