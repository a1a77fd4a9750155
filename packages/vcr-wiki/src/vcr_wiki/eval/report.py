"""A markdown table of several evaluation results beside the paper's reference numbers.

Columns are the four VCR tasks (en/zh x easy/hard), cells are "EM / Jaccard" in percent. Our rows come
from ``metrics.json`` files written by ``vcr-wiki eval`` (one row per model and image variant); the paper's
rows (Tables 2-3 and the repository README, test sets as stated) follow beneath.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["PAPER_REFERENCE", "TASKS", "load_result", "render_report"]

TASKS = ("en_easy", "en_hard", "zh_easy", "zh_hard")

# (exact match, jaccard) in percent; None where the paper gives no number.
PAPER_REFERENCE: dict[str, dict[str, tuple[float | None, float | None]]] = {
    "Human (all)": {
        "en_easy": (96.65, None),
        "en_hard": (91.12, None),
        "zh_easy": (98.58, None),
        "zh_hard": (91.84, None),
    },
    "Human (filtered)": {
        "en_easy": (98.62, None),
        "en_hard": (97.63, None),
        "zh_easy": (99.47, None),
        "zh_hard": (96.63, None),
    },
    "GPT-4o (500)": {
        "en_easy": (91.55, 96.44),
        "en_hard": (73.2, 86.17),
        "zh_easy": (14.87, 39.05),
        "zh_hard": (2.2, 22.72),
    },
    "Claude 3.5 Sonnet": {
        "en_easy": (63.85, 74.65),
        "en_hard": (41.74, 56.15),
        "zh_easy": (1.0, 7.54),
        "zh_hard": (0.2, 4.0),
    },
    "Qwen2-VL-7B (5k)": {
        "en_easy": (89.70, 93.84),
        "en_hard": (74.32, 85.47),
        "zh_easy": (59.94, 76.95),
        "zh_hard": (18.33, 43.55),
    },
    "Qwen2-VL-72B": {
        "en_easy": (91.30, 94.64),
        "en_hard": (69.87, 71.70),
        "zh_easy": (65.38, 74.08),
        "zh_hard": (15.30, 27.35),
    },
    "CogVLM2-19B": {
        "en_easy": (83.25, 89.75),
        "en_hard": (37.98, 59.99),
        "zh_easy": (9.15, 17.12),
        "zh_hard": (0.08, 3.67),
    },
    "CogVLM2-FT (LoRA, 16k)": {
        "en_easy": (93.27, 97.62),
        "en_hard": (77.44, 90.17),
        "zh_easy": (61.69, 78.14),
        "zh_hard": (42.11, 65.67),
    },
}


def load_result(path: str | Path) -> list[dict[str, Any]]:
    """The rows of one result: ``{"label", "task", "variant", "exact_match", "jaccard", ...}`` per variant.

    ``path`` is a ``metrics.json`` or a folder holding one. Raises ValueError naming the file and the missing
    keys when it is not a ``vcr-wiki eval`` result.
    """
    p = Path(path)
    if p.is_dir():
        p = p / "metrics.json"
    if not p.is_file():
        raise FileNotFoundError(f"result file {str(p)!r} does not exist")
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ValueError(f"{str(p)!r} is not JSON ({err})") from err
    needed = ("exact_match", "jaccard", "n_blanks", "language", "difficulty", "model", "variants")
    missing = [k for k in needed if not isinstance(data, dict) or k not in data]
    if missing:
        raise ValueError(f"{str(p)!r} is not a vcr-wiki eval result: it lacks {missing}")
    model = str(data["model"])
    label = Path(model).name if model not in ("oracle", "ocr", "rapidocr", "copy-visible") else model
    control = f" [{data['control']}]" if data.get("control") else ""
    rows = []
    for variant, res in data["variants"].items():
        ems = res["metrics"]["exact_match"]
        rows.append(
            {
                "label": f"{label} ({variant}){control}",
                "task": f"{data['language']}_{data['difficulty']}",
                "variant": variant,
                "exact_match": res["exact_match"],
                "jaccard": res["jaccard"],
                "em_std": ems["std"],
                "n_blanks": res["n_blanks"],
                "tokenizer": data.get("tokenizer", "?"),
                "source": str(p),
            }
        )
    return rows


def _cell(em: float | None, jac: float | None) -> str:
    if em is None:
        return "–"
    return f"{em:.2f}" if jac is None else f"{em:.2f} / {jac:.2f}"


def render_report(paths: Sequence[str | Path], *, include_paper: bool = True) -> str:
    """The markdown report of several results (and the paper's reference rows)."""
    if not paths:
        raise ValueError("render_report needs at least one result file")
    ours: dict[str, dict[str, tuple[float | None, float | None]]] = {}
    notes: list[str] = []
    for path in paths:
        data = json.loads(
            (Path(path) / "metrics.json" if Path(path).is_dir() else Path(path)).read_text("utf-8")
        )
        for row in load_result(path):
            if row["task"] not in TASKS:
                notes.append(f"{row['label']}: task {row['task']!r} is not one of the four VCR tasks")
            label = row["label"]
            if row["task"] in ours.get(label, {}):  # two results for one cell: name the second by its file
                label = f"{label} <{Path(row['source']).parent.name}>"
            row["label"] = label
            ours.setdefault(label, {})[row["task"]] = (row["exact_match"], row["jaccard"])
            notes.append(
                f"{row['label']}, {row['task']}: {row['n_blanks']} blanks, EM bootstrap SD {row['em_std']:.2f}, "
                f"tokenizer {row['tokenizer']} ({row['source']})"
            )
        if isinstance(data.get("delta"), dict):
            d = data["delta"]
            notes.append(
                f"{Path(str(data['model'])).name}, {data['language']}_{data['difficulty']}: Δ stacked − text-only "
                f"EM {d['exact_match']:+.2f}, Jaccard {d['jaccard']:+.2f}"
            )
    head = "| Model | " + " | ".join(t.replace("_", "-") for t in TASKS) + " |"
    lines = ["# VCR results (exact match / Jaccard, %)", "", head, "|---|" + "---:|" * len(TASKS)]
    for label, cells in ours.items():
        lines.append(
            f"| **{label}** | " + " | ".join(_cell(*cells.get(t, (None, None))) for t in TASKS) + " |"
        )
    if include_paper:
        for label, cells in PAPER_REFERENCE.items():
            lines.append(
                f"| paper: {label} | " + " | ".join(_cell(*cells.get(t, (None, None))) for t in TASKS) + " |"
            )
    lines += ["", "Our rows (bold) are on the datasets named below, not on the paper's test sets.", ""]
    if include_paper:
        lines[-2] += (
            " The paper's rows are copied from its Tables 2-3 and README (GPT-4o on the 500-sample subsets, "
            "Qwen2-VL-7B on 5k)."
        )
    lines += [f"- {n}" for n in notes]
    return "\n".join(lines) + "\n"
