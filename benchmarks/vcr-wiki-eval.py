"""Benchmark of vcr-wiki's evaluation: metric throughput (blanks/s, one core) and OCR throughput.

Usage: python benchmarks/vcr-wiki-eval.py [--blanks 4000] [--ocr-images 20] [--out bench-out]

Metric throughput is measured for two kinds of answers: the blanks alone (what a good model says) and the
whole caption (a long answer: every window is a candidate), with each available tokenizer. OCR throughput
is Tesseract on rendered 300-px-wide stacked images (one thread), when Tesseract is installed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OMP_THREAD_LIMIT", "1")

from PIL import Image, ImageDraw, ImageFont

from vcr_wiki.eval.metrics import get_tokenizer, score_sample

WORDS = [
    "the",
    "old",
    "stone",
    "bridge",
    "crosses",
    "quiet",
    "river",
    "near",
    "village",
    "red",
    "tram",
    "waits",
    "at",
    "station",
    "under",
    "grey",
    "winter",
    "sky",
    "children",
    "play",
    "football",
    "in",
    "park",
    "beside",
    "ancient",
    "church",
    "lighthouse",
    "stands",
    "on",
    "rocky",
    "island",
    "northern",
    "sea",
    "fishermen",
    "repair",
    "their",
    "nets",
    "harbour",
    "wall",
    "dawn",
    "museum",
    "main",
    "hall",
    "built",
    "century",
    "famous",
    "painter",
    "portrait",
]


ZH_WORDS = [
    "古老",
    "的",
    "石桥",
    "横跨",
    "安静",
    "河流",
    "城市",
    "中心",
    "博物馆",
    "大厅",
    "今天",
    "开放",
    "孩子们",
    "在",
    "公园",
    "里",
    "踢足球",
    "灯塔",
    "矗立",
    "岩石",
    "岛屿",
    "北方",
    "海洋",
    "渔民",
    "修补",
    "渔网",
]


def _caption(rng: random.Random, n_words: int = 55) -> str:
    words = [rng.choice(WORDS) for _ in range(n_words)]
    words[0] = words[0].capitalize()
    return " ".join(words) + "."


def _timed(tok, kind: str, answers: list[str], samples: list, language: str) -> dict:
    """Score every sample; rates per CPU-second of this process (robust to a loaded machine) and wall."""
    c0, t0 = time.process_time(), time.perf_counter()
    n = sum(len(score_sample(a, b, language, tok)) for a, (_, b) in zip(answers, samples, strict=True))
    cpu, wall = time.process_time() - c0, time.perf_counter() - t0
    return {
        "tokenizer": tok.name,
        "answer": kind,
        "blanks": n,
        "cpu_seconds": cpu,
        "wall_seconds": wall,
        "blanks_per_cpu_s": n / cpu,
        "blanks_per_s": n / wall,
    }


def metric_throughput(n_blanks: int, seed: int = 0) -> list[dict]:
    """Blanks per second for blank-only and whole-caption answers, per English tokenizer backend."""
    rng = random.Random(seed)
    samples = []
    while sum(len(b) for _, b in samples) < n_blanks:
        cap = _caption(rng)
        toks = cap.rstrip(".").split()
        starts = sorted(rng.sample(range(0, len(toks) - 5, 6), 2))
        samples.append((cap, [" ".join(toks[s : s + 5]) for s in starts]))
    rows = []
    zh_samples = []
    while sum(len(b) for _, b in zh_samples) < n_blanks:
        words = [rng.choice(ZH_WORDS) for _ in range(40)]
        starts = sorted(rng.sample(range(0, len(words) - 5, 6), 2))
        zh_samples.append(("".join(words) + "。", ["".join(words[s : s + 5]) for s in starts]))
    for backend in ("jieba", "char"):
        try:
            tok = get_tokenizer("zh", backend)
        except ValueError:
            continue
        tok("预热分词器")  # load jieba's dictionary outside the timing
        for kind in ("blanks only", "whole caption"):
            answers = ["\n".join(b) if kind == "blanks only" else cap for cap, b in zh_samples]
            rows.append(_timed(tok, kind, answers, zh_samples, "zh"))
    for backend in ("spacy", "regex"):
        try:
            tok = get_tokenizer("en", backend)
        except ValueError:
            continue
        for kind in ("blanks only", "whole caption"):
            answers = ["\n".join(b) if kind == "blanks only" else cap for cap, b in samples]
            rows.append(_timed(tok, kind, answers, samples, "en"))
    return rows


def ocr_throughput(n_images: int, seed: int = 0) -> dict | None:
    """Images per second of the Tesseract baseline on 300 x ~330 px stacked renders (one thread)."""
    from vcr_wiki.eval.runners.ocr import TesseractRunner, tesseract_available

    if not tesseract_available("en"):
        return None
    rng = random.Random(seed)
    font = ImageFont.load_default(size=20)
    images = []
    for _ in range(n_images):
        im = Image.new("RGB", (300, 225 + 22 * 5 + 2), "white")
        draw = ImageDraw.Draw(im)
        draw.rectangle((0, 0, 299, 224), fill=(rng.randrange(256), 120, 180))
        for line in range(5):
            draw.text(
                (0, 225 + 22 * line), " ".join(rng.choice(WORDS) for _ in range(4)), fill="black", font=font
            )
        images.append(im)
    runner = TesseractRunner("en")
    c0, t0 = _children_cpu(), time.perf_counter()
    runner.predict(images, [""] * len(images))
    cpu, wall = _children_cpu() - c0, time.perf_counter() - t0
    return {
        "runner": runner.name,
        "images": n_images,
        "cpu_seconds": cpu,
        "wall_seconds": wall,
        "cpu_s_per_image": cpu / n_images,
        "images_per_s": n_images / wall,
    }


def _children_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def main() -> None:
    """Run the benchmark and write ``OUT/vcr-wiki-eval.json``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blanks", type=int, default=4000)
    parser.add_argument("--ocr-images", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="bench-out")
    args = parser.parse_args()
    result = {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "metrics": metric_throughput(args.blanks, args.seed),
        "ocr": ocr_throughput(args.ocr_images, args.seed),
    }
    for row in result["metrics"]:
        print(
            f"metrics  {row['tokenizer']:<24} {row['answer']:<14} {row['blanks_per_cpu_s']:8.0f} blanks per CPU-s"
            f"  ({row['blanks_per_s']:.0f} per wall-s)"
        )
    if result["ocr"]:
        ocr = result["ocr"]
        print(
            f"ocr      {ocr['runner']:<24} {ocr['cpu_s_per_image']:8.3f} CPU-s per image"
            f"  ({ocr['images_per_s']:.2f} images per wall-s)"
        )
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "vcr-wiki-eval.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
