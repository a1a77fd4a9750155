"""Task vectors, in-memory and streamed merges, the baselines and their errors."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import load_file, save_file
from torch import nn

from map_merge import (
    CheckpointError,
    dare,
    load_state_dict,
    stream_dare,
    stream_merge,
    stream_ties,
    task_arithmetic,
    task_vectors,
    ties,
)


def small_model(seed: int) -> nn.Module:
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.Linear(8, 3))
    model[1].num_batches_tracked.fill_(seed + 1)
    return model


def test_task_vectors_merge_and_keep_integer_buffers() -> None:
    base, a, b = small_model(0), small_model(1), small_model(2)
    tv = task_vectors(base, {"a": a, "b": b})
    assert tv.task_names == ["a", "b"] and tv.n_tasks == 2
    assert "1.num_batches_tracked" not in tv.keys
    merged = tv.merged_state_dict([0.3, 0.7])
    for key, value in base.state_dict().items():
        if value.is_floating_point():
            expected = value + 0.3 * (a.state_dict()[key] - value) + 0.7 * (b.state_dict()[key] - value)
            torch.testing.assert_close(merged[key], expected)
        else:
            assert torch.equal(merged[key], value)
    torch.testing.assert_close(tv.merged_flat([1.0, 0.0])[: 8 * 4], a[0].weight.detach().reshape(-1))


def test_mismatches_name_the_first_bad_key_or_shape() -> None:
    base = small_model(0)
    other = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.Linear(8, 5))
    with pytest.raises(CheckpointError, match=r"shape of '2.weight' is \(5, 8\)"):
        task_vectors(base, {"bad": other})
    state = small_model(1).state_dict()
    del state["2.bias"]
    with pytest.raises(CheckpointError, match=r"'2\.bias'"):
        task_vectors(base, [state])
    with pytest.raises(CheckpointError, match="does not exist"):
        task_vectors(base, ["/no/such/model"])
    with pytest.raises(ValueError, match=r"shape \(2,\)"):
        task_vectors(base, [small_model(1), small_model(2)]).merged_flat([1.0])


def test_stream_merge_equals_the_in_memory_merge(tmp_path) -> None:
    models = [small_model(s) for s in range(3)]
    paths = []
    for index, model in enumerate(models):
        paths.append(tmp_path / f"m{index}.safetensors")
        save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(paths[-1]))
    target = stream_merge(paths[0], paths[1:], [0.4, -0.2], tmp_path / "out", metadata={"note": "test"})
    written = load_file(str(target))
    expected = task_vectors(paths[0], paths[1:]).merged_state_dict([0.4, -0.2])
    assert written.keys() == expected.keys()
    for key in expected:
        assert torch.equal(written[key], expected[key])  # one merge primitive: bit-identical
    assert (tmp_path / "out" / "README.md").read_text().count("0.4") >= 1
    assert not list((tmp_path / "out").glob("*.tmp"))
    with pytest.raises(ValueError, match=r"coefficients must have shape \(2,\)"):
        stream_merge(paths[0], paths[1:], [0.4], tmp_path / "bad")


def mergekit_style_ties(base, models, weights, density):
    """Reference TIES per tensor with mergekit's conventions, written independently in plain torch."""
    out = {}
    for key, b in base.items():
        if not b.is_floating_point():
            out[key] = b
            continue
        deltas = []
        for m in models:
            d = (m[key] - b).reshape(-1)
            k = max(1, int(density * d.numel()))
            keep = torch.zeros_like(d)
            keep[d.abs().argsort(descending=True)[:k]] = 1
            deltas.append(d * keep)
        weighted = torch.stack(deltas) * torch.tensor(weights)[:, None]
        majority = torch.where(weighted.sum(0) >= 0, 1.0, -1.0)
        mask = weighted.sign() == majority
        divisor = (torch.tensor(weights)[:, None] * mask).sum(0)
        divisor[divisor == 0] = 1
        out[key] = b + ((weighted * mask).sum(0) / divisor).reshape(b.shape)
    return out


def test_ties_per_tensor_matches_mergekit_conventions_and_model_trim_keeps_exactly_k() -> None:
    models = [small_model(s).state_dict() for s in range(4)]
    tv = task_vectors(models[0], models[1:])
    expected = mergekit_style_ties(models[0], models[1:], [1.0, 0.5, 2.0], 0.3)
    merged = ties(tv, density=0.3, weights=[1.0, 0.5, 2.0], trim="tensor")
    for key, part in zip(tv.keys, tv.slices, strict=True):
        torch.testing.assert_close(merged[part], expected[key].reshape(-1), atol=1e-6, rtol=0)
    delta = ties(tv, density=0.2, trim="model") - tv.flat_base
    k = int(0.2 * tv.flat_vectors.shape[1])
    kept = torch.zeros_like(tv.flat_vectors, dtype=torch.bool)
    kept.scatter_(1, tv.flat_vectors.abs().topk(k, dim=1).indices, True)
    assert not torch.any((delta != 0) & ~kept.any(dim=0)), "only entries in some task's top 20% may change"
    one = kept[0] & ~kept[1:].any(dim=0)
    torch.testing.assert_close(delta[one], tv.flat_vectors[0, one])  # a single kept entry passes unchanged
    with pytest.raises(ValueError, match="density"):
        ties(tv, density=0.0)
    with pytest.raises(ValueError, match="trim"):
        ties(tv, trim="layer")
    with pytest.raises(ValueError, match="weights must be finite"):
        ties(tv, weights=[1.0, float("nan"), 1.0])


def test_dare_rescale_conventions() -> None:
    tv = task_vectors(small_model(0), [small_model(1), small_model(2)])
    dropped = dare(tv, drop_rate=0.5, seed=0) - tv.flat_base
    assert torch.equal(dropped, dare(tv, drop_rate=0.5, seed=0) - tv.flat_base)
    plain = dare(tv, drop_rate=0.5, seed=0, rescale="none") - tv.flat_base
    torch.testing.assert_close(dropped, plain * 2.0)  # inverse: 1 / (1 - p)
    l1 = dare(tv, drop_rate=0.5, seed=0, rescale="l1", weights=[1.0, 0.0]) - tv.flat_base
    for part in tv.slices:  # l1: each tensor's masked L1 norm equals the unmasked one
        torch.testing.assert_close(l1[part].abs().sum(), tv.flat_vectors[0, part].abs().sum())
    with pytest.raises(ValueError, match="drop_rate"):
        dare(tv, drop_rate=1.0)
    with pytest.raises(ValueError, match="rescale"):
        dare(tv, rescale="l2")


def test_in_memory_remerge_rewrites_parameters_in_place() -> None:
    base, a, b = small_model(0), small_model(1), small_model(2)
    tv = task_vectors(base, {"a": a, "b": b})
    module = small_model(5)
    pointers = {k: v.data_ptr() for k, v in module.state_dict().items()}
    tv.load_into(module, [0.3, -0.2])
    expected = tv.merged_state_dict([0.3, -0.2])
    for key, value in module.state_dict().items():
        assert value.data_ptr() == pointers[key]
        if value.is_floating_point():
            assert torch.equal(value, expected[key])
    with pytest.raises(ValueError, match="finite"):
        tv.load_into(module, [float("nan"), 0.0])
    assert torch.equal(task_arithmetic(tv, 0.3), tv.merged_flat([0.3, 0.3]))


def test_both_merge_paths_reject_the_same_bad_inputs(tmp_path) -> None:
    base = {k: v.contiguous() for k, v in small_model(0).state_dict().items()}
    good = {k: v.contiguous() for k, v in small_model(1).state_dict().items()}
    cases = {
        "extra": (good | {"extra.weight": torch.ones(2)}, r"'extra\.weight' is not in the base"),
        "missing": (
            {k: v for k, v in good.items() if k != "2.bias"},
            r"'2\.bias' of the base model is missing",
        ),
        "shape": (good | {"2.bias": torch.zeros(4)}, r"shape of '2\.bias'"),
        "dtype": (good | {"2.bias": good["2.bias"].double()}, r"dtype of '2\.bias'"),
    }
    save_file(base, str(tmp_path / "base.safetensors"))
    for name, (state, message) in cases.items():
        save_file(state, str(tmp_path / f"{name}.safetensors"))
        with pytest.raises(CheckpointError, match=message):
            task_vectors(tmp_path / "base.safetensors", [tmp_path / f"{name}.safetensors"])
        with pytest.raises(CheckpointError, match=message):
            stream_merge(
                tmp_path / "base.safetensors", [tmp_path / f"{name}.safetensors"], [0.5], tmp_path / name
            )
        assert not (tmp_path / name).exists()
    save_file(good, str(tmp_path / "good.safetensors"))
    with pytest.raises(ValueError, match="finite"):
        stream_merge(
            tmp_path / "base.safetensors", [tmp_path / "good.safetensors"], [float("nan")], tmp_path / "nan"
        )
    assert not (tmp_path / "nan").exists()
    with pytest.raises(ValueError, match="finite"):
        task_vectors(tmp_path / "base.safetensors", [tmp_path / "good.safetensors"]).merged_flat(
            [float("inf")]
        )


def test_key_check_is_linear_in_the_number_of_tensors() -> None:
    import time

    from map_merge.task_vectors import check_like_base

    meta = {f"layer.{i}.weight": (torch.float32, (4,)) for i in range(40_000)}
    start = time.perf_counter()
    check_like_base(meta, dict(meta), "model")
    assert time.perf_counter() - start < 1.0


def test_truncated_safetensors_file_is_a_clear_error(tmp_path) -> None:
    models = [small_model(0), small_model(1)]
    paths = [tmp_path / "base.safetensors", tmp_path / "ft.safetensors"]
    for model, path in zip(models, paths, strict=True):
        save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(path))
    paths[1].write_bytes(paths[1].read_bytes()[:-16])
    with pytest.raises(CheckpointError, match="truncated"):
        stream_merge(paths[0], paths[1:], [0.5], tmp_path / "out.safetensors")
    assert not list(tmp_path.glob("*.tmp")) and not (tmp_path / "out.safetensors").exists()


def argsort_ties(tv, density, weights, trim):
    """The former TIES (a full argsort per task vector), kept as the reference of the linear-time one;
    with a stable sort: equal magnitudes at the threshold are kept lowest position first."""
    w = torch.tensor(weights, dtype=torch.float32)[:, None]

    def keep_top(deltas):
        k = max(1, int(density * deltas.shape[1]))
        kept = torch.zeros_like(deltas)
        for row in range(deltas.shape[0]):
            index = deltas[row].abs().argsort(descending=True, stable=True)[:k]
            kept[row, index] = deltas[row, index]
        return kept

    if trim == "model":
        trimmed = keep_top(tv.flat_vectors)
    else:
        trimmed = torch.cat([keep_top(tv.flat_vectors[:, part]) for part in tv.slices], dim=1)
    weighted = trimmed.mul_(w)
    elected = torch.where(weighted.sum(dim=0) >= 0, 1.0, -1.0)
    agree = torch.sign(weighted) == elected
    merged = (weighted * agree).sum(dim=0)
    divisor = (w * agree).sum(dim=0)
    merged /= torch.where(divisor == 0, 1.0, divisor)
    return tv.flat_base + 0.7 * merged


@pytest.mark.parametrize("trim", ["model", "tensor"])
def test_linear_time_ties_equals_the_sorting_one_bit_for_bit(trim) -> None:
    models = [small_model(s).state_dict() for s in range(4)]
    for key, value in models[0].items():  # equal magnitudes straddling the threshold: lowest position first
        if value.is_floating_point():
            value.view(-1)[::3] = 0.0
            for sign, model in zip((1.0, -1.0, 1.0), models[1:], strict=True):
                model[key].view(-1)[::3] = sign * 0.25
    tv = task_vectors(models[0], models[1:])
    for density in (0.05, 0.3, 1.0):
        expected = argsort_ties(tv, density, [1.0, 0.5, 2.0], trim)
        assert torch.equal(ties(tv, density, 0.7, weights=[1.0, 0.5, 2.0], trim=trim), expected)


def test_dare_tensor_by_tensor_draws_the_numbers_of_one_full_draw() -> None:
    tv = task_vectors(small_model(0), [small_model(1), small_model(2), small_model(3)])
    keep = torch.rand(tv.flat_vectors.shape, generator=torch.Generator().manual_seed(5)) >= 0.6
    expected = tv.flat_base + 0.5 * (torch.tensor([1.0, 2.0, 0.5]) @ (tv.flat_vectors * keep / 0.4))
    assert torch.equal(dare(tv, 0.6, 0.5, seed=5, weights=[1.0, 2.0, 0.5]), expected)


def test_streamed_ties_and_dare_equal_the_in_memory_ones(tmp_path) -> None:
    paths = []
    for seed in range(4):
        paths.append(tmp_path / f"m{seed}.safetensors")
        save_file({k: v.contiguous() for k, v in small_model(seed).state_dict().items()}, str(paths[-1]))
    tv = task_vectors(paths[0], paths[1:])
    for trim in ("model", "tensor"):
        target = stream_ties(
            paths[0], paths[1:], tmp_path / f"ties-{trim}", 0.3, 0.8, weights=[1, 0.5, 2], trim=trim
        )
        written = load_state_dict(target)
        expected = ties(tv, 0.3, 0.8, weights=[1, 0.5, 2], trim=trim)
        for key, part in zip(tv.keys, tv.slices, strict=True):
            assert torch.equal(written[key].reshape(-1), expected[part]), key
        assert torch.equal(written["1.num_batches_tracked"], tv.base["1.num_batches_tracked"])
        assert "TIES" in (target.parent / "README.md").read_text()
    written = load_state_dict(stream_dare(paths[0], paths[1:], tmp_path / "dare.safetensors", 0.5, seed=3))
    expected = dare(tv, 0.5, seed=3)
    for key, part in zip(tv.keys, tv.slices, strict=True):
        assert torch.equal(written[key].reshape(-1), expected[part]), key


def test_streamed_merges_refuse_nan_weights_that_a_trim_would_hide(tmp_path) -> None:
    states = [small_model(seed).state_dict() for seed in range(3)]
    states[2]["0.weight"][0, 0] = float("nan")
    paths = []
    for seed, state in enumerate(states):
        paths.append(tmp_path / f"m{seed}.safetensors")
        save_file({k: v.contiguous() for k, v in state.items()}, str(paths[-1]))
    with pytest.raises(ValueError, match=r"fine-tuned model 1: tensor '0\.weight' holds NaN"):
        stream_ties(paths[0], paths[1:], tmp_path / "new" / "ties", 0.01)
    with pytest.raises(ValueError, match="holds NaN"):
        stream_dare(paths[0], paths[1:], tmp_path / "new" / "dare", 0.99)
    with pytest.raises(ValueError, match="holds NaN"):
        stream_merge(paths[0], paths[1:], [0.0, 0.0], tmp_path / "new" / "merged")
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "m0.safetensors",
        "m1.safetensors",
        "m2.safetensors",
    ]
