"""``vcr-wiki demo``: small datasets from the shipped sample data, scored by the oracle and by OCR.

Fixtures (sample captions and pictures) live here, outside the public API.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from vcr_wiki import __version__
from vcr_wiki._io import atomic_write_text
from vcr_wiki._marker import check_folder, claim


def _sig(x: float) -> float:
    """Three significant digits (reproducible across machines)."""
    return float(f"{x:.3g}")


def figures_of(builds: dict[str, Any], scores: dict[str, Any]) -> dict[str, float]:
    """The demo's headline numbers as a flat object."""
    figures: dict[str, float] = {}
    for name, b in builds.items():
        lang, diff = name.split("-")
        if diff == "easy":
            figures[f"{lang}_samples"] = b["rows_out"]
        figures[f"{lang}_{diff}_spans_per_sample"] = _sig(b["spans_per_sample"])
    oracle = [s["exact_match"] for k, s in scores.items() if k.endswith("-oracle")]
    if oracle:
        figures["oracle_em_min"] = _sig(min(oracle))
    for key, s in scores.items():
        if key.endswith("-ocr"):
            stem = "ocr_" + key[: -len("-ocr")].replace("-", "_")
            figures[f"{stem}_em"] = _sig(s["exact_match"])
            figures[f"{stem}_jaccard"] = _sig(s["jaccard"])
    return figures


def run_demo(out: str | os.PathLike[str], seed: int = 0) -> dict[str, Any]:
    """Run the whole demo into ``out``; writes ``out/demo.json`` and returns it."""
    from vcr_wiki.demo.builder import run_builder_demo
    from vcr_wiki.demo.evaluation import run_eval_demo

    def say(line: str) -> None:
        print(line, flush=True)

    out = Path(out)
    check_folder(out, "demo")  # new, empty or an earlier demo's folder; anything else is refused
    claim(out, "demo")
    t0, cpu0 = time.perf_counter(), time.process_time()
    built = run_builder_demo(out, seed=seed, say=say)
    langs = sorted({k.split("-")[0] for k in built["builds"]}, key=["en", "zh"].index)
    scored = run_eval_demo(out, langs, seed=seed, say=say)
    scores = scored["scores"]
    if "en-unmasked-ocr" in scores:
        em = [round(scores[f"en-{k}-ocr"]["exact_match"]) for k in ("unmasked", "easy", "hard")]
        key = f"OCR EM clear {em[0]}, easy {em[1]}, hard {em[2]}"
    else:
        key = f"oracle {round(scores['en-easy-oracle']['exact_match'])}; OCR skipped"
    result = {
        "key_figure": key,
        "figures": figures_of(built["builds"], scores),
        "package": "vcr-wiki",
        "version": __version__,
        "seed": seed,
        "builds": built["builds"],
        "scores": {k: {m: round(v, 2) for m, v in s.items()} for k, s in scores.items()},
        "notes": built["notes"] + scored["notes"],
        "seconds": round(time.perf_counter() - t0, 2),
        "cpu_seconds_main_process": round(time.process_time() - cpu0, 2),
    }
    atomic_write_text(out / "demo.json", json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    say(f"[done] {key} (demo.json in {out})")
    sys.stdout.flush()
    return result
