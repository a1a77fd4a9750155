"""Evaluate a runner on a built VCR dataset: predictions (JSONL, resumable), metrics JSON, lmms-eval table.

A dataset folder holds Parquet shards (any depth) with the upstream columns ``question_id``, ``caption``,
``crossed_text``, ``stacked_image`` and ``only_it_image`` (images as ``{"bytes", "path"}`` structs), and
optionally ``lang``/``language`` and ``difficulty``/``mode`` columns or a ``manifest.json`` naming them.

Outputs under ``out``: ``predictions-<variant>.jsonl`` (one line per sample, appended batch by batch and
flushed, so an interrupted run resumes from what is there), ``metrics.json`` (written atomically) and
``table.md`` (lmms-eval task names such as ``vcr_wiki_en_easy``).
"""

from __future__ import annotations

import io
import json
import os
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PIL import Image

from vcr_wiki import __version__
from vcr_wiki._batches import batched
from vcr_wiki._io import atomic_write_text
from vcr_wiki._marker import check_folder, claim
from vcr_wiki.eval.metrics import SCORERS, BlankScore, aggregate_scores, score_sample
from vcr_wiki.tokens import Tokenizer, get_tokenizer

if TYPE_CHECKING:
    from vcr_wiki.eval.runners import Runner

__all__ = [
    "PROMPTS",
    "VARIANTS",
    "EvalConfig",
    "EvalSample",
    "evaluate",
    "lmms_eval_task_name",
    "load_eval_samples",
    "make_runner",
]

PROMPTS = {
    "en": "What is the covered texts in the image? Please restore the covered texts without outputting the "
    "explanations.",
    "zh": "图像中被覆盖的文本是什么？请在不输出解释的情况下还原被覆盖的文本。",
}
VARIANTS = {"stacked": "stacked_image", "text-only": "only_it_image"}
REQUIRED_COLUMNS = ("caption", "crossed_text")
_LANG_COLUMNS = ("lang", "language")
_DIFFICULTY_COLUMNS = ("difficulty", "mode")
STATE_DIR = "_state"  # a build in progress inside a dataset folder (its shards are not the dataset's)


@dataclass
class EvalSample:
    """One dataset row as the evaluation needs it (images kept encoded until used)."""

    question_id: int | str  # the dataset's value (int64 -> int); "<shard>:<row>" when the column is absent
    caption: str
    crossed_text: list[str]
    images: dict[str, bytes]
    language: str
    difficulty: str

    def image(self, variant: str) -> Image.Image:
        """The decoded image of ``variant`` ("stacked" or "text-only")."""
        with Image.open(io.BytesIO(self.images[variant])) as im:
            rgb: Image.Image = im.convert("RGB")
            return rgb


# ------------------------------------------------------------------------------------------------ dataset


def _shards(dataset: Path) -> list[Path]:
    if not dataset.exists():
        raise FileNotFoundError(f"dataset folder {str(dataset)!r} does not exist")
    if dataset.is_file():
        return [dataset]
    shards = sorted(
        p
        for p in dataset.rglob("*.parquet")
        if not p.name.startswith(".") and STATE_DIR not in p.relative_to(dataset).parts
    )
    if not shards and (dataset / STATE_DIR).is_dir():
        raise ValueError(
            f"dataset folder {str(dataset)!r} holds only a vcr-wiki build in progress ({STATE_DIR}/); "
            "finish it with `vcr-wiki build --resume` first"
        )
    if not shards:
        raise FileNotFoundError(f"dataset folder {str(dataset)!r} holds no .parquet shards")
    return shards


def _manifest(dataset: Path) -> dict[str, Any]:
    """Language and difficulty as the builder's manifest or dataset card name them (best effort)."""
    folder = dataset if dataset.is_dir() else dataset.parent
    for name in ("manifest.json", "config.json", "build_config.json"):
        path = folder / name
        if path.is_file():
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError):
                continue
            found: dict[str, str] = {}
            stack = [data]
            while stack:
                node = stack.pop()
                if isinstance(node, dict):
                    for key, value in node.items():
                        if key in _LANG_COLUMNS and value in ("en", "zh"):
                            found.setdefault("language", value)
                        elif key in _DIFFICULTY_COLUMNS and value in ("easy", "hard"):
                            found.setdefault("difficulty", value)
                        else:
                            stack.append(value)
                elif isinstance(node, list):
                    stack.extend(node)
            if found:
                return found
    return {}


def _image_bytes(value: object, column: str, row: int, shard: Path) -> bytes:
    if isinstance(value, dict):
        value = value.get("bytes")
    if not isinstance(value, (bytes, bytearray)) or not value:
        raise ValueError(f"{shard.name}: row {row} has no image bytes in column {column!r}")
    return bytes(value)


def _guess_language(caption: str) -> str:
    cjk = sum("\u4e00" <= ch <= "\u9fff" for ch in caption)
    return "zh" if cjk > len(caption) / 4 else "en"


def load_eval_samples(
    dataset: str | Path,
    variants: Sequence[str] = ("stacked",),
    *,
    language: str | None = None,
    limit: int | None = None,
) -> Iterator[EvalSample]:
    """Stream the samples of a built dataset (shards in sorted order), with the images of ``variants``.

    Raises ValueError naming the shard and the missing columns when a shard lacks a needed column.
    """
    import pyarrow.parquet as pq

    dataset = Path(dataset)
    for variant in variants:
        if variant not in VARIANTS:
            raise ValueError(f"variant must be one of {sorted(VARIANTS)}, got {variant!r}")
    if language is not None and language not in PROMPTS:
        raise ValueError(f"language must be 'en' or 'zh', got {language!r}")
    meta = _manifest(dataset)
    count = 0
    for shard in _shards(dataset):
        try:
            pf = pq.ParquetFile(shard)
        except Exception as err:  # pyarrow raises several types for a non-Parquet file
            raise ValueError(f"{str(shard)!r} is not a readable Parquet file ({err})") from err
        if pf.metadata.num_rows == 0:
            continue
        names = set(pf.schema_arrow.names)
        needed = [*REQUIRED_COLUMNS, *(VARIANTS[v] for v in variants)]
        missing = [c for c in needed if c not in names]
        if missing:
            raise ValueError(f"{str(shard)!r} lacks the columns {missing} (it has {sorted(names)})")
        optional = [c for c in ("question_id", *_LANG_COLUMNS, *_DIFFICULTY_COLUMNS) if c in names]
        offset = 0
        for batch in pf.iter_batches(batch_size=64, columns=needed + optional):
            rows = batch.to_pylist()
            for i, row in enumerate(rows):
                r = offset + i
                crossed = row["crossed_text"]
                if (
                    isinstance(crossed, str)
                    or not crossed
                    or not all(isinstance(c, str) and c for c in crossed)
                ):
                    raise ValueError(f"{shard.name}: row {r} has a bad crossed_text {crossed!r}")
                caption = row["caption"] or ""
                lang = (
                    language
                    or next((row[c] for c in _LANG_COLUMNS if row.get(c) in PROMPTS), None)
                    or meta.get("language")
                    or _guess_language(caption)
                )
                difficulty = next(
                    (row[c] for c in _DIFFICULTY_COLUMNS if row.get(c) in ("easy", "hard")), None
                )
                qid = row.get("question_id")
                yield EvalSample(
                    question_id=qid if isinstance(qid, (int, str)) else f"{shard.stem}:{r}",
                    caption=caption,
                    crossed_text=list(crossed),
                    images={v: _image_bytes(row[VARIANTS[v]], VARIANTS[v], r, shard) for v in variants},
                    language=lang,
                    difficulty=difficulty or meta.get("difficulty", "unknown"),
                )
                count += 1
                if limit is not None and count >= limit:
                    return
            offset += len(rows)


# ------------------------------------------------------------------------------------------------- config


@dataclass
class EvalConfig:
    """One evaluation run. ``model``: "oracle", "ocr", "rapidocr", "copy-visible" or a local model folder."""

    dataset: str
    model: str
    out: str
    variant: str = "stacked"  # "stacked", "text-only" or "both"
    seed: int = 0
    batch_size: int = 8
    limit: int | None = None
    language: str | None = None
    tokenizer: str = "auto"
    max_new_tokens: int | None = None  # None: upstream's 2 x caption tokens
    device: str = "auto"
    dtype: str = "auto"
    n_resamples: int = 1000
    fresh: bool = False
    workers: int = 1  # OCR: images read in parallel
    scorer: str = "upstream"  # "upstream" (also VLMEvalKit) or "lmms-eval": see metrics.SCORERS
    progress: bool = True  # a progress bar (TQDM_DISABLE=1 also turns it off)
    extra: dict[str, Any] = field(default_factory=dict)

    def variants(self) -> list[str]:
        """The image variants this run evaluates."""
        if self.variant == "both":
            return ["stacked", "text-only"]
        if self.variant not in VARIANTS:
            raise ValueError(f"variant must be 'stacked', 'text-only' or 'both', got {self.variant!r}")
        return [self.variant]

    def signature(self) -> dict[str, Any]:
        """What must match for a resumed run to reuse earlier predictions."""
        return {
            "dataset": str(Path(self.dataset).resolve()),
            "model": self.model
            if self.model in ("oracle", "ocr", "rapidocr", "copy-visible")
            else str(Path(self.model).resolve()),
            "max_new_tokens": self.max_new_tokens,
            "language": self.language,
        }


def make_runner(config: EvalConfig, samples: Iterable[EvalSample], variant: str, language: str) -> Runner:
    """The runner that ``config.model`` names (the lookup runners are built from ``samples``, streamed)."""
    from vcr_wiki.eval.runners.oracle import CopyVisibleTextRunner, OracleRunner, visible_text

    if config.model == "oracle":
        return OracleRunner((s.image(variant), OracleRunner.answer(s.crossed_text)) for s in samples)
    if config.model == "copy-visible":
        return CopyVisibleTextRunner(
            (s.image(variant), visible_text(s.caption, s.crossed_text, s.language)) for s in samples
        )
    if config.model == "rapidocr":
        from vcr_wiki.eval.runners.rapid import RapidOCRRunner

        return RapidOCRRunner(language)
    if config.model == "ocr":
        from vcr_wiki.eval.runners.ocr import TesseractRunner

        return TesseractRunner(language, workers=config.workers)
    from vcr_wiki.eval.runners.transformers import TransformersRunner

    return TransformersRunner(
        config.model,
        device=config.device,
        dtype=config.dtype,
        batch_size=config.batch_size,
        max_new_tokens=config.max_new_tokens,
    )


# ------------------------------------------------------------------------------------------------ outputs


def _read_predictions(path: Path) -> dict[str, dict[str, Any]]:
    """Complete, parseable lines of a predictions file (a torn last line is dropped and cut off)."""
    done: dict[str, dict[str, Any]] = {}
    if not path.is_file():
        return done
    good = 0
    with open(path, "rb") as fh:
        for raw in fh:
            if not raw.endswith(b"\n"):
                break
            try:
                rec = json.loads(raw)
            except json.JSONDecodeError:
                break
            if (
                not isinstance(rec, dict)
                or "question_id" not in rec
                or not isinstance(rec.get("prediction"), str)
            ):
                break
            done[str(rec["question_id"])] = rec
            good += len(raw)
    if good != path.stat().st_size:
        with open(path, "r+b") as fh:
            fh.truncate(good)
    return done


def lmms_eval_task_name(language: str, difficulty: str, n_samples: int) -> str:
    """lmms-eval's task name: ``vcr_wiki_{en,zh}_{easy,hard}`` plus ``_100/_500/_5000`` for those sizes."""
    name = f"vcr_wiki_{language}_{difficulty}"
    return f"{name}_{n_samples}" if n_samples in (100, 500, 5000) else name


def _table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| Tasks | Variant | Metric | Value | Stderr (bootstrap SD) | 95% CI | n_blanks |",
        "|---|---|---|---:|---:|---|---:|",
    ]
    for r in rows:
        for metric in ("exact_match", "jaccard"):
            m = r["metrics"][metric]
            lines.append(
                f"| {r['task']} | {r['variant']} | {metric} | {m['mean']:.2f} | {m['std']:.2f} | "
                f"[{m['ci_low']:.2f}, {m['ci_high']:.2f}] | {r['n_blanks']} |"
            )
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------------------------- evaluate


def _score_records(
    records: list[dict[str, Any]], language: str, tokenizer: Tokenizer, scorer: str
) -> list[BlankScore]:
    scores: list[BlankScore] = []
    for rec in records:
        scores.extend(
            score_sample(rec["prediction"], rec["crossed_text"], language, tokenizer, scorer=scorer)
        )
    return scores


def _run_variant(
    config: EvalConfig,
    samples: list[EvalSample],
    variant: str,
    language: str,
    tokenizer: Tokenizer,
    out: Path,
    progress: Any,
    runners: dict[str, Runner],
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    path = out / f"predictions-{variant}.jsonl"
    done = {} if config.fresh else _read_predictions(path)
    if config.fresh and path.exists():
        path.unlink()
    todo = {str(s.question_id) for s in samples if str(s.question_id) not in done}
    stats: dict[str, Any] = {"resumed": len(samples) - len(todo), "predicted": len(todo), "seconds": 0.0}

    def stream() -> Iterator[EvalSample]:  # images are read shard by shard, never all at once
        for s in load_eval_samples(config.dataset, [variant], language=config.language, limit=config.limit):
            if str(s.question_id) in todo:
                yield s

    if todo:
        if config.model in ("oracle", "copy-visible"):  # lookups: built per variant from its images
            runner = make_runner(config, stream(), variant, language)
        else:  # a model is loaded once for all variants
            if "model" not in runners:
                runners["model"] = make_runner(config, (), variant, language)
            runner = runners["model"]
        stats["runner"] = getattr(runner, "name", type(runner).__name__)
        budget = getattr(runner, "budget_for", None)
        prompt = PROMPTS[language]
        t0 = time.perf_counter()
        extra = {} if config.progress else {"disable": True}
        bar = progress(total=len(todo), desc=f"{config.model} {variant}", unit="sample", **extra)
        with open(path, "a", encoding="utf-8") as fh:
            for chunk in batched(stream(), config.batch_size):
                images = [s.image(variant) for s in chunk]
                kwargs = {"max_new_tokens": [budget(s.caption) for s in chunk]} if budget else {}
                texts = runner.predict(images, [prompt] * len(chunk), **kwargs)
                if len(texts) != len(chunk):
                    raise RuntimeError(
                        f"runner {stats['runner']} returned {len(texts)} answers for {len(chunk)}"
                    )
                for s, text in zip(chunk, texts, strict=True):
                    blanks = score_sample(text, s.crossed_text, language, tokenizer, scorer=config.scorer)
                    rec = {
                        "question_id": s.question_id,
                        "variant": variant,
                        "prediction": text,
                        "crossed_text": s.crossed_text,
                        "exact_match": [b.exact_match for b in blanks],
                        "jaccard": [round(b.jaccard, 6) for b in blanks],
                        "best_match": [b.max_sim_string for b in blanks],
                    }
                    fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
                    done[str(s.question_id)] = rec
                fh.flush()
                os.fsync(fh.fileno())
                bar.update(len(chunk))
        bar.close()
        stats["seconds"] = time.perf_counter() - t0
    records = [done[str(s.question_id)] for s in samples]
    return records, stats


def _progress() -> Any:  # tqdm's class, or a do-nothing stand-in
    try:
        from tqdm import tqdm

        return tqdm
    except ImportError:

        class _Null:
            def __init__(self, **_: object) -> None: ...
            def update(self, _: int) -> None: ...
            def close(self) -> None: ...

        return _Null


def _control(dataset: Path) -> str | None:
    """The kind of control dataset (``"unmasked"``) its manifest names, else None."""
    manifest = dataset / "manifest.json"
    if dataset.is_dir() and manifest.is_file():
        try:
            value = json.loads(manifest.read_text(encoding="utf-8")).get("control")
        except (OSError, json.JSONDecodeError, AttributeError):
            return None
        return value if isinstance(value, str) else None
    return None


def _check_complete(dataset: Path) -> None:
    """Refuse a build that its manifest marks as unfinished (some shards missing)."""
    manifest = dataset / "manifest.json"
    if dataset.is_dir() and manifest.is_file():
        try:
            data = json.loads(manifest.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            return
        if isinstance(data, dict) and data.get("complete") is False:
            raise ValueError(
                f"dataset {str(dataset)!r} is an incomplete build ({data.get('shards_done')} of "
                f"{data.get('n_shards')} shards); finish it with `vcr-wiki build --resume`"
            )


def evaluate(config: EvalConfig) -> dict[str, Any]:
    """Run (or resume) an evaluation and write predictions, ``metrics.json`` and ``table.md``.

    Returns the metrics dict: top-level ``exact_match``, ``jaccard`` (percent over blanks) and ``n_blanks``
    of the first variant, every variant under ``"variants"`` and, with both, ``"delta"`` (stacked minus
    text-only, in points).
    """
    variants = config.variants()
    if config.scorer not in SCORERS:
        raise ValueError(f"scorer must be one of {SCORERS}, got {config.scorer!r}")
    out = Path(config.out)
    check_folder(out, "eval")  # a folder of other files is refused before anything is read or written
    _check_complete(Path(config.dataset))
    next(load_eval_samples(config.dataset, variants, language=config.language, limit=1), None)  # columns
    samples = list(load_eval_samples(config.dataset, (), language=config.language, limit=config.limit))
    if not samples:
        raise ValueError(f"dataset {config.dataset!r} holds no samples")
    languages = sorted({s.language for s in samples})
    if len(languages) != 1:
        raise ValueError(f"dataset {config.dataset!r} mixes languages {languages}; evaluate one at a time")
    language = languages[0]
    difficulty = "+".join(sorted({s.difficulty for s in samples}))
    ids = [str(s.question_id) for s in samples]
    if len(set(ids)) != len(ids):
        raise ValueError(f"dataset {config.dataset!r} has repeated question_id values")
    tokenizer = get_tokenizer(language, config.tokenizer)
    claim(out, "eval")
    run_file = out / "run.json"
    signature = config.signature()
    if run_file.is_file() and not config.fresh:
        previous = json.loads(run_file.read_text(encoding="utf-8")).get("signature")
        if previous != signature:
            raise ValueError(
                f"{str(out)!r} holds predictions of another run ({previous}); pass --fresh to overwrite "
                "them or choose another --out"
            )
    atomic_write_text(run_file, json.dumps({"signature": signature}, indent=2) + "\n")
    progress = _progress()
    results: dict[str, dict[str, Any]] = {}
    task = lmms_eval_task_name(language, difficulty, len(samples))
    runners: dict[str, Any] = {}
    for variant in variants:
        records, stats = _run_variant(config, samples, variant, language, tokenizer, out, progress, runners)
        t0 = time.perf_counter()
        scores = _score_records(records, language, tokenizer, config.scorer)
        agg = aggregate_scores(scores, n_resamples=config.n_resamples, seed=config.seed)
        stats["metric_seconds"] = time.perf_counter() - t0
        results[variant] = {
            **agg,
            "task": task,
            "variant": variant,
            "n_samples": len(records),
            "timing": stats,
        }
    first = results[variants[0]]
    metrics: dict[str, Any] = {
        "exact_match": first["exact_match"],
        "jaccard": first["jaccard"],
        "n_blanks": first["n_blanks"],
        "n_samples": first["n_samples"],
        "metrics": first["metrics"],
        "task": task,
        "language": language,
        "difficulty": difficulty,
        "model": config.model,
        "variant": config.variant,
        "tokenizer": tokenizer.name,
        "scorer": config.scorer,
        "dataset_name": Path(config.dataset).resolve().name,
        "control": _control(Path(config.dataset)),
        "variants": results,
        "config": {k: v for k, v in asdict(config).items() if k != "extra"},
        "seed": config.seed,
        "version": __version__,
    }
    if "stacked" in results and "text-only" in results:
        metrics["delta"] = {
            m: results["stacked"][m] - results["text-only"][m] for m in ("exact_match", "jaccard")
        }
    atomic_write_text(out / "metrics.json", json.dumps(metrics, indent=2, ensure_ascii=False) + "\n")
    atomic_write_text(out / "table.md", _table(list(results.values())))
    return metrics
