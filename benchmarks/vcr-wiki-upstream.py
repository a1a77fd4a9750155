"""vcr-wiki beside upstream's builder (tianyu-z/VCR ``generate_vcr_single``), same run, same inputs: English
easy samples per CPU-second (``time.process_time``), with ``os.getloadavg()`` beside every figure.

    python benchmarks/vcr-wiki-upstream.py --upstream-src /path/to/VCR [--n 200] [--rounds 2]

Without ``--upstream-src`` (or ``$VCR_UPSTREAM_SRC``) it says it is skipped and exits 0 (as in ``nox -s
bench``); a folder without upstream's builder, or spaCy / en_core_web_sm / torch missing, is an error
(exit 2) found before upstream's code is imported (its ``utils`` would try to download the model).

Inputs: n English pairs, each with its own PNG picture 400-1,100 px wide (``vcr-wiki-scale.py``'s
``make_pairs`` with one picture per pair), captions filling 5 lines; everything in a temporary folder.

Arms, each timed over all n samples after a warm-up of 10, in alternating rounds (the CPU times are summed):

- ``upstream``: read the file, decode it as ``datasets`` does (``Image.open`` + ``load``), then
  ``generate_vcr_single(..., mask_mode="ngram", mask_p=0.5, n_gram=5, n_lines=5, language="en",
  easy_mode=True, font_size=20)`` with the font vcr-wiki uses, then the PNG encoding that ``datasets``
  does when it writes the two new image columns (``stacked_image``, ``only_it_image``: Pillow
  ``save(format="PNG")``). Upstream renders at each picture's own width (it has no resize).
  ``upstream_with_image_column`` also counts the re-encoding of the decoded input picture for the
  ``image`` column, which ``datasets`` does when the input came as bytes (as from the Hub).
- ``upstream_without_png``: the same without any PNG encoding (what the issue's 66.0 samples per CPU-s
  measured).
- ``upstream_equal_output``: the picture first resized to 300 px with vcr-wiki's resize, then upstream's
  function, then Pillow PNG for three columns (``image``, ``stacked_image``, ``only_it_image``): the
  same output work as vcr-wiki's rows.
- ``upstream_same_writer``: the same with vcr-wiki's PNG writer (``encode_png``) instead of Pillow's.
- ``vcr_wiki_spacy``: ``SampleMaker(BuildConfig(nlp="spacy")).rows(pairs)`` as the builder calls it: read, decode, reduce and resize
  to 300 px, wrap, the same spaCy model as upstream, render, masks, and the four PNG columns of a shard
  row (``image``, ``stacked_image``, ``only_it_image``, ``only_it_image_small``).
- ``vcr_wiki_spacy_one_by_one``: the same, one ``SampleMaker.row`` call per sample (no batching of the
  captions through spaCy); its rows must equal the batched ones (checked).
- ``vcr_wiki_regex``: the same with the offline tokenizer (``--nlp regex``, no spaCy).

It also checks that the builder's trimmed spaCy pipeline (tagger, attribute_ruler and lemmatizer off;
captions batched through ``nlp.pipe``) gives the sentences and eligibility flags of the full pipeline run
one caption at a time, on every kept caption of the run.

Upstream's code is imported at run time from a checkout (``--upstream-src``: the checkout's root, or its
``src/build_dataset`` folder); nothing of it is copied here. Its module ``create_vcr`` imports ``fire``,
``torchvision.transforms`` and ``datasets`` (and uses the name ``Image`` from ``datasets`` as if it were
PIL's ``Image``); this script puts small stand-ins for those three into ``sys.modules`` before importing
it (``datasets.Image`` is ``PIL.Image``; the others are empty: the timed function does not use them).
Its ``utils`` loads ``en_core_web_sm`` and ``zh_core_web_sm`` at import; a missing ``zh_core_web_sm`` is
replaced by a placeholder that fails if used (only English is timed), so nothing is downloaded.

Without en_core_web_sm (not installable offline), ``--stand-in blank`` gives upstream ``spacy.blank("en")``
+ sentencizer (no NER, no model cost: a lower bound of upstream's time) and ``--stand-in untrained`` adds an
untrained parser and NER (about the model's compute cost, the same output); vcr-wiki's spaCy arms are then
left out. ``--arms a,b`` runs only those arms.

Setup (a venv of its own, not a dependency of vcr-wiki; see the package README): vcr-wiki
(``pip install -e "packages/vcr-wiki[fast]"``), torch (upstream's ``utils`` imports it), spaCy 3.6 and
en_core_web_sm 3.6.0 installed (the model's release for spaCy 3.6, e.g. its wheel from the
explosion/spacy-models releases), with ``numpy<2`` and ``pyarrow<19`` (spaCy 3.6's wheels need NumPy 1).
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import json
import os
import random
import sys
import tempfile
import time
import types
from importlib.metadata import version
from pathlib import Path
from typing import NoReturn

os.environ.setdefault("OMP_NUM_THREADS", "1")

HERE = Path(__file__).resolve().parent


def _scale_module():
    spec = importlib.util.spec_from_file_location("vcr_wiki_scale", HERE / "vcr-wiki-scale.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _build_dataset_dir(path: Path) -> Path:
    for candidate in (path / "src" / "build_dataset", path):
        if (candidate / "create_vcr.py").is_file() and (candidate / "utils.py").is_file():
            return candidate
    _fail(f"no create_vcr.py and utils.py under {str(path)!r} (give a checkout of tianyu-z/VCR)")


def _fail(message: str) -> NoReturn:
    print(f"vcr-wiki-upstream: error: {message}", file=sys.stderr)
    raise SystemExit(2)


STAND_INS = {
    "blank": "spacy.blank('en') + sentencizer (no parser, tagger or NER: no entity is ever excluded; "
    "upstream's spaCy cost left out: a lower bound of its time)",
    "untrained": "spacy.blank('en') + an untrained parser and NER (spaCy's default architectures, each with "
    "its own tok2vec, as en_core_web_sm's two) + sentencizer overwriting the sentence starts: the model's "
    "compute cost, the blank stand-in's output (rule-based sentences, no entity)",
}
PARSER_LABELS = ("ROOT", "nsubj", "dobj", "prep", "pobj", "det", "amod", "punct", "compound", "conj", "cc")
NER_LABELS = ("PERSON", "NORP", "FAC", "ORG", "GPE", "LOC", "PRODUCT", "EVENT", "DATE", "TIME", "PERCENT",
              "MONEY", "QUANTITY", "ORDINAL", "CARDINAL")  # fmt: skip


def _stand_in_en(kind: str):
    """An offline stand-in for en_core_web_sm (see ``STAND_INS``)."""
    import spacy

    nlp = spacy.blank("en")
    if kind == "untrained":
        parser, ner = nlp.add_pipe("parser"), nlp.add_pipe("ner")
        for label in PARSER_LABELS:
            parser.add_label(label)
        for label in NER_LABELS:
            ner.add_label(label)
    nlp.add_pipe("sentencizer", config={"overwrite": True})
    nlp.initialize()
    return nlp


def import_upstream(path: Path, stand_in: str | None = None):
    """Upstream's ``create_vcr`` module, imported from a checkout with stand-ins for its unused imports
    (``stand_in``: en_core_web_sm replaced by ``_stand_in_en(stand_in)``)."""
    import PIL.Image
    import spacy

    folder = _build_dataset_dir(path)
    stand_ins = {
        "fire": types.ModuleType("fire"),
        "torchvision": types.ModuleType("torchvision"),
        "torchvision.transforms": types.ModuleType("torchvision.transforms"),
        "datasets": types.ModuleType("datasets"),
    }
    stand_ins["torchvision"].transforms = stand_ins["torchvision.transforms"]
    stand_ins["datasets"].Image = PIL.Image
    for name in ("load_dataset", "load_from_disk", "Dataset"):
        setattr(stand_ins["datasets"], name, None)
    saved = {name: sys.modules.get(name) for name in stand_ins}
    sys.modules.update(stand_ins)

    real_load = spacy.load

    def load(name, *args, **kwargs):
        if name == "en_core_web_sm" and stand_in:
            return _stand_in_en(stand_in)
        if name == "zh_core_web_sm" and importlib.util.find_spec(name) is None:
            return _Missing(name)
        return real_load(name, *args, **kwargs)

    spacy.load = load
    # create_vcr imports "src.build_dataset.utils" and "utils": one module under both names (one spaCy load)
    sys.path[:0] = [str(folder.parent.parent), str(folder)]
    try:
        spec = importlib.util.spec_from_file_location("utils", folder / "utils.py")
        utils = importlib.util.module_from_spec(spec)
        for name in ("utils", "src.build_dataset.utils"):
            sys.modules[name] = utils
        spec.loader.exec_module(utils)
        spec = importlib.util.spec_from_file_location("upstream_create_vcr", folder / "create_vcr.py")
        create_vcr = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(create_vcr)
    finally:
        spacy.load = real_load
        del sys.path[:2]
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module
    return create_vcr


class _Missing:
    """Placeholder for a spaCy model that is not installed; fails when called."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __call__(self, *args, **kwargs):
        raise RuntimeError(f"spaCy model {self.name} is not installed")


def upstream_arm(create_vcr, rows, font: str, columns: tuple[str, ...], width: int | None = None,
                 writer: str = "pillow"):  # fmt: skip
    """A function that builds the samples of ``rows[i]`` for the given indices the way upstream's pipeline
    does, encodes the image ``columns`` as PNG (``writer``: "pillow" as ``datasets`` does, or "vcr-wiki":
    vcr-wiki's PNG writer) and returns their sizes. ``width``: the picture is first resized to it with
    vcr-wiki's resize (equal output: the same 300 px pictures as vcr-wiki's rows)."""
    import numpy as np
    from PIL import Image

    from vcr_wiki.builder.inputs import resize_to_width
    from vcr_wiki.builder.png import encode_png, resolve_deflate

    backend = resolve_deflate("auto")

    def one(i: int) -> int:
        pair = rows[i]
        with open(Path(pair.base) / pair.image_path, "rb") as fh:
            data = fh.read()
        image = Image.open(io.BytesIO(data))
        image.load()
        if width is not None:
            image = resize_to_width(image.convert("RGB"), width)
        example = create_vcr.generate_vcr_single(
            {"image": image, "caption": pair.caption},
            mask_mode="ngram",
            mask_p=0.5,
            n_gram=5,
            n_lines=5,
            language="en",
            easy_mode=True,
            font_path=font,
            font_size=20,
        )
        size = 0
        for key in columns:
            if writer == "vcr-wiki":
                size += len(encode_png(np.asarray(example[key].convert("RGB")), backend))
            else:
                buf = io.BytesIO()
                example[key].save(buf, format="PNG")
                size += buf.tell()
        return size

    return lambda indices: [one(i) for i in indices]


def vcr_wiki_arm(rows, maker, batched: bool):
    """A function that builds the shard rows of ``rows[i]`` for the given indices with ``maker``, in
    batches (``SampleMaker.rows``, as the builder does) or one by one (``SampleMaker.row``)."""

    def run(indices: list[int]) -> list[dict]:
        pairs = [rows[i] for i in indices]
        out = maker.rows(pairs) if batched else [maker.row(p) for p in pairs]
        dropped = [r for r in out if isinstance(r, str)]
        if dropped:
            raise RuntimeError(f"{len(dropped)} rows dropped: {dropped[:3]}")
        return out

    return run


def _png_bytes(out: list) -> int:
    if out and isinstance(out[0], int):
        return sum(out)
    return sum(
        len(r[k]["bytes"])
        for r in out
        for k in ("image", "stacked_image", "only_it_image", "only_it_image_small")
    )


def tokenizer_effect(spacy_rows: list[dict], regex_rows: list[dict]) -> dict:
    """How the offline tokenizer's choice of hidden n-grams compares with spaCy's on the same samples."""
    n = len(spacy_rows)
    return {
        "samples": n,
        "same_crossed_text": sum(
            a["crossed_text"] == b["crossed_text"] for a, b in zip(spacy_rows, regex_rows, strict=True)
        ),
        "spans_per_sample_spacy": round(sum(len(r["crossed_text"]) for r in spacy_rows) / n, 2),
        "spans_per_sample_regex": round(sum(len(r["crossed_text"]) for r in regex_rows) / n, 2),
    }


def spacy_trim_check(captions: list[str]) -> dict:
    """Whether the builder's spaCy tokenizer (tagger, attribute_ruler, lemmatizer off; batched) gives the
    sentences and eligibility flags of the full pipeline run one caption at a time; CPU ms per caption."""
    from vcr_wiki import tokens
    from vcr_wiki.builder.sample import BATCH

    trimmed = tokens.get_tokenizer("en", "spacy")
    saved, tokens._SPACY_UNUSED = tokens._SPACY_UNUSED, ()
    try:
        full = tokens._spacy_model("en")
    finally:
        tokens._SPACY_UNUSED = saved

    def timed(tok, batched: bool):
        tok.sentences_many(captions[:BATCH])  # warm-up
        t = time.process_time()
        if batched:
            out = [
                s for i in range(0, len(captions), BATCH) for s in tok.sentences_many(captions[i : i + BATCH])
            ]
        else:
            out = [tok.sentences(c) for c in captions]
        return out, round((time.process_time() - t) * 1000 / len(captions), 2)

    reference, full_single = timed(full, False)
    _, full_batched = timed(full, True)
    single, trimmed_single = timed(trimmed, False)
    batched, trimmed_batched = timed(trimmed, True)
    return {
        "captions": len(captions),
        "one_by_one_identical": sum(a == r for a, r in zip(single, reference, strict=True)),
        "batched_identical": sum(a == r for a, r in zip(batched, reference, strict=True)),
        "cpu_ms_per_caption": {
            "full_one_by_one": full_single,
            "full_batched": full_batched,
            "trimmed_one_by_one": trimmed_single,
            "trimmed_batched": trimmed_batched,
        },
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--upstream-src",
        type=Path,
        default=os.environ.get("VCR_UPSTREAM_SRC"),
        help="a checkout of tianyu-z/VCR (its root or src/build_dataset); default $VCR_UPSTREAM_SRC",
    )
    ap.add_argument("--n", type=int, default=200, help="samples (each with its own picture)")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument(
        "--stand-in",
        choices=tuple(STAND_INS),
        default=None,
        help="en_core_web_sm not installed: upstream uses this stand-in; vcr-wiki's spaCy arms are left out",
    )
    ap.add_argument("--arms", default=None, help="comma-separated arm names to run (default: all)")
    args = ap.parse_args()
    if args.n < 1 or args.rounds < 1 or args.warmup < 0:
        _fail(
            f"--n and --rounds must be positive and --warmup >= 0, got {args.n}, {args.rounds}, {args.warmup}"
        )
    if args.upstream_src is None:
        print("vcr-wiki-upstream: skipped: no --upstream-src (a checkout of tianyu-z/VCR) given")
        return
    folder = _build_dataset_dir(args.upstream_src)
    for module in ("spacy", "torch") if args.stand_in else ("spacy", "en_core_web_sm", "torch"):
        if importlib.util.find_spec(module) is None:
            _fail(
                f"{module} is not installed; this benchmark needs spaCy 3.6, en_core_web_sm 3.6.0 and torch"
            )
    create_vcr = import_upstream(folder, stand_in=args.stand_in)
    import spacy

    from vcr_wiki.builder.inputs import InputSpec, read_pairs
    from vcr_wiki.builder.sample import BuildConfig, SampleMaker

    with tempfile.TemporaryDirectory() as tmp:
        pairs = _scale_module().make_pairs(Path(tmp) / "in", args.n, distinct=args.n)
        rows = list(read_pairs(InputSpec(str(pairs))))
        regex_maker = SampleMaker(BuildConfig(nlp="regex"))
        font = str(regex_maker.renderer.font_path)
        three = ("image", "stacked_image", "only_it_image")
        arms = {
            "upstream_without_png": upstream_arm(create_vcr, rows, font, ()),
            "upstream": upstream_arm(create_vcr, rows, font, ("stacked_image", "only_it_image")),
            "upstream_with_image_column": upstream_arm(create_vcr, rows, font, three),
            "upstream_equal_output": upstream_arm(create_vcr, rows, font, three, width=300),
            "upstream_same_writer": upstream_arm(create_vcr, rows, font, three, width=300, writer="vcr-wiki"),
            "vcr_wiki_regex": vcr_wiki_arm(rows, regex_maker, batched=True),
        }
        if not args.stand_in:
            spacy_maker = SampleMaker(BuildConfig(nlp="spacy"))
            arms["vcr_wiki_spacy"] = vcr_wiki_arm(rows, spacy_maker, batched=True)
            arms["vcr_wiki_spacy_one_by_one"] = vcr_wiki_arm(rows, spacy_maker, batched=False)
        if args.arms:
            unknown = set(args.arms.split(",")) - set(arms)
            if unknown:
                _fail(f"--arms: unknown arm(s) {sorted(unknown)}; choose from {sorted(arms)}")
            arms = {k: v for k, v in arms.items() if k in args.arms.split(",")}
        cpu = dict.fromkeys(arms, 0.0)
        outputs: dict[str, list] = {}
        loads = []
        warm = list(range(min(args.warmup, args.n)))
        for fn in arms.values():
            random.seed(42)
            fn(warm)
        everything = list(range(args.n))
        for _ in range(args.rounds):
            for name, fn in arms.items():
                random.seed(42)  # upstream's set_seed, once per build
                t = time.process_time()
                outputs[name] = fn(everything)
                cpu[name] += time.process_time() - t
                loads.append(os.getloadavg())
    samples = args.n * args.rounds
    rate = {name: samples / cpu[name] for name in arms}
    ours = [v for v in ("vcr_wiki_spacy", "vcr_wiki_regex") if v in arms]
    upstreams = [u for u in arms if u.startswith("upstream")]
    result = {
        "samples_per_arm": samples,
        "cpu_s": {k: round(v, 2) for k, v in cpu.items()},
        "samples_per_cpu_s": {k: round(v, 1) for k, v in rate.items()},
        "png_bytes_per_sample": {k: _png_bytes(v) // args.n for k, v in outputs.items()},
        "ratio_vs_upstream": {f"{v}/{u}": round(rate[v] / rate[u], 2) for v in ours for u in upstreams},
        "spacy": f"spaCy {spacy.__version__}, "
        + (
            f"upstream: {STAND_INS[args.stand_in]}"
            if args.stand_in
            else f"en_core_web_sm {version('en_core_web_sm')}"
        ),
        "load_average_after_each_arm": [" ".join(f"{x:.2f}" for x in la) for la in loads],
    }
    if {"vcr_wiki_spacy", "vcr_wiki_spacy_one_by_one", "vcr_wiki_regex"} <= set(outputs):
        result["spacy_rows_batched_equal_one_by_one"] = (
            outputs["vcr_wiki_spacy"] == outputs["vcr_wiki_spacy_one_by_one"]
        )
        result["spacy_trimmed_vs_full_pipeline"] = spacy_trim_check(
            [r["caption"] for r in outputs["vcr_wiki_spacy"]]
        )
        result["regex_vs_spacy_tokenizer"] = tokenizer_effect(
            outputs["vcr_wiki_spacy"], outputs["vcr_wiki_regex"]
        )
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
