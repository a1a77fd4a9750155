"""map-merge beside mergekit (a separate venv: `pip install mergekit==0.1.5` plus map-merge; mergekit is
not a dependency): a Llama-style model built from a config (no download), a base and three perturbed
fine-tunes saved as safetensors folders; then in the same run
- task arithmetic (weight 0.3 each): mergekit `run_merge` vs map-merge `stream_merge`: wall, CPU, peak RSS
  (each in its own child process) and the largest difference of the weights;
- TIES (density 0.3, weights 1 / 0.5 / 2, normalize): mergekit vs map-merge `stream_ties(trim="tensor")`
  (and `trim="model"`): wall, CPU, peak RSS, the CPU ratio to task arithmetic, and the largest difference
  of the weights (mergekit vs `trim="tensor"`; streamed vs in-memory `ties`).
The machine's load average is printed beside the figures.
Run: python benchmarks/map-merge-mergekit.py [--hidden 768 --layers 12 --vocab 32000] (134M params)
mergekit is found in the interpreter that runs this script (`python -c "import mergekit"` must work).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

CHILD = r"""
import json, resource, sys, time
import torch
torch.set_num_threads(1)
mode, root = sys.argv[1], sys.argv[2]
models = [f"{root}/ft{i}" for i in range(3)]
wall, cpu = time.perf_counter(), time.process_time()
if mode == "mergekit":
    from mergekit.config import MergeConfiguration
    from mergekit.merge import MergeOptions, run_merge
    config = MergeConfiguration.model_validate({
        "merge_method": sys.argv[3], "base_model": f"{root}/base", "dtype": "float32",
        "parameters": {"normalize": True} if sys.argv[3] == "ties" else {},
        "models": [{"model": m, "parameters": json.loads(sys.argv[4])[i]} for i, m in enumerate(models)],
    })
    run_merge(config, f"{root}/out-{sys.argv[3]}", MergeOptions(cuda=False, copy_tokenizer=False, lazy_unpickle=True, write_model_card=False))
elif mode == "map-merge-ties":
    from map_merge import stream_ties
    stream_ties(f"{root}/base", models, f"{root}/out-map-merge-ties-{sys.argv[4]}", 0.3,
                weights=json.loads(sys.argv[3]), trim=sys.argv[4])
else:
    from map_merge import stream_merge
    stream_merge(f"{root}/base", models, [0.3, 0.3, 0.3], f"{root}/out-map-merge")
for line in open("/proc/self/status"):
    if line.startswith("VmHWM:"):
        peak = int(line.split()[1]) / 2**20
print(json.dumps({"wall_s": round(time.perf_counter() - wall, 2), "cpu_s": round(time.process_time() - cpu, 2), "peak_rss_gb": round(peak, 2)}))
"""


def build_models(root: Path, hidden: int, layers: int, vocab: int) -> int:
    """Base and three fine-tunes (base + N(0, 0.01^2) noise) as HF safetensors folders; returns params."""
    import torch
    import transformers

    config = transformers.LlamaConfig(
        hidden_size=hidden,
        num_hidden_layers=layers,
        intermediate_size=hidden * 8 // 3,
        num_attention_heads=max(1, hidden // 64),
        num_key_value_heads=max(1, hidden // 64),
        vocab_size=vocab,
        tie_word_embeddings=False,
    )
    torch.manual_seed(0)
    base = transformers.LlamaForCausalLM(config)
    base.save_pretrained(root / "base")
    for i in range(3):
        with torch.no_grad():
            for p in base.parameters():
                p.add_(0.01 * torch.randn_like(p))
        base.save_pretrained(root / f"ft{i}")
        with torch.no_grad():  # back to the base for the next fine-tune
            base.load_state_dict(transformers.LlamaForCausalLM.from_pretrained(root / "base").state_dict())
    return sum(p.numel() for p in base.parameters())


def child(mode: str, root: Path, *extra: str) -> dict:
    return json.loads(
        subprocess.check_output([sys.executable, "-c", CHILD, mode, str(root), *extra]).splitlines()[-1]
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--hidden", type=int, default=768)
    parser.add_argument("--layers", type=int, default=12)
    parser.add_argument("--vocab", type=int, default=32000)
    args = parser.parse_args()
    import torch
    from safetensors.torch import load_file

    from map_merge import task_vectors, ties

    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        params = build_models(root, args.hidden, args.layers, args.vocab)
        results: dict[str, object] = {"params_millions": round(params / 1e6, 1)}
        results["mergekit_task_arithmetic"] = child(
            "mergekit", root, "task_arithmetic", json.dumps([{"weight": 0.3}] * 3)
        )
        results["map_merge_stream_merge"] = child("map-merge", root)
        ours = load_file(str(root / "out-map-merge" / "model.safetensors"))
        theirs = {}
        for f in sorted((root / "out-task_arithmetic").glob("*.safetensors")):
            theirs |= load_file(str(f))
        results["task_arithmetic_max_abs_diff"] = max(float((ours[k] - theirs[k]).abs().max()) for k in ours)
        weights = [1.0, 0.5, 2.0]
        results["mergekit_ties"] = child(
            "mergekit", root, "ties", json.dumps([{"weight": w, "density": 0.3} for w in weights])
        )
        for trim in ("tensor", "model"):
            results[f"map_merge_stream_ties_{trim}"] = child(
                "map-merge-ties", root, json.dumps(weights), trim
            )
        ta_cpu = results["map_merge_stream_merge"]["cpu_s"]
        results["ties_tensor_cpu_over_task_arithmetic"] = round(
            results["map_merge_stream_ties_tensor"]["cpu_s"] / ta_cpu, 2
        )
        results["ties_tensor_cpu_over_mergekit_ties"] = round(
            results["map_merge_stream_ties_tensor"]["cpu_s"] / results["mergekit_ties"]["cpu_s"], 2
        )
        theirs = {}
        for f in sorted((root / "out-ties").glob("*.safetensors")):
            theirs |= load_file(str(f))
        streamed = load_file(str(root / "out-map-merge-ties-tensor" / "model.safetensors"))
        diffs = {key: float((streamed[key] - theirs[key]).abs().max()) for key in streamed}
        worst = max(diffs, key=diffs.get)
        results["ties_tensor_max_abs_diff"] = diffs[worst]
        results["ties_tensor_worst_tensor"] = f"{worst} {tuple(streamed[worst].shape)}"
        results["ties_tensor_tensors_differing"] = sum(d > 1e-6 for d in diffs.values())
        tv = task_vectors(root / "base", [root / f"ft{i}" for i in range(3)])
        for trim in ("tensor", "model"):
            merged = ties(tv, density=0.3, weights=weights, trim=trim)
            streamed = load_file(str(root / f"out-map-merge-ties-{trim}" / "model.safetensors"))
            results[f"ties_{trim}_streamed_equals_in_memory"] = all(
                torch.equal(merged[part], streamed[key].reshape(-1))
                for key, part in zip(tv.keys, tv.slices, strict=True)
            )
        results["ties_model_trim_max_abs_diff"] = max(
            float((merged[part] - theirs[key].reshape(-1)).abs().max())
            for key, part in zip(tv.keys, tv.slices, strict=True)
        )
    results["load_average"] = Path("/proc/loadavg").read_text().split()[:3]
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
