"""Task vectors, in-memory and streamed merges, the baselines and their errors."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import load_file, save_file
from torch import nn

from map_merge import CheckpointError, dare, stream_merge, task_arithmetic, task_vectors, ties


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
        torch.testing.assert_close(written[key], expected[key])
    assert (tmp_path / "out" / "README.md").read_text().count("0.4") >= 1
    assert not list((tmp_path / "out").glob("*.tmp"))
    with pytest.raises(ValueError, match="2 fine-tuned models but 1 coefficients"):
        stream_merge(paths[0], paths[1:], [0.4], tmp_path / "bad")


def test_baselines() -> None:
    tv = task_vectors(small_model(0), [small_model(1), small_model(2)])
    torch.testing.assert_close(task_arithmetic(tv, 0.3), tv.merged_flat([0.3, 0.3]))
    delta = ties(tv, density=0.2) - tv.flat_base
    vectors = tv.flat_vectors
    k = round(0.2 * vectors.shape[1])
    top = vectors.abs() >= vectors.abs().topk(k, dim=1).values[:, -1:]
    trimmed = vectors * top
    assert not torch.any((delta != 0) & ~top.any(dim=0)), "only entries in some task's top 20% may change"
    both = top.all(dim=0) & (torch.sign(trimmed[0]) == torch.sign(trimmed[1]))
    torch.testing.assert_close(delta[both], trimmed[:, both].mean(dim=0))  # agreeing entries: their mean
    one = top[0] & ~top[1]
    torch.testing.assert_close(delta[one], trimmed[0, one])  # a single kept entry passes unchanged
    dropped = dare(tv, drop_rate=0.5, seed=0) - tv.flat_base
    assert torch.equal(dropped, dare(tv, drop_rate=0.5, seed=0) - tv.flat_base)
    assert abs(float(dropped.sum() - tv.flat_vectors.sum())) < 0.5 * float(tv.flat_vectors.abs().sum())
    with pytest.raises(ValueError, match="density"):
        ties(tv, density=0.0)
    with pytest.raises(ValueError, match="drop_rate"):
        dare(tv, drop_rate=1.0)


def test_truncated_safetensors_file_is_a_clear_error(tmp_path) -> None:
    models = [small_model(0), small_model(1)]
    paths = [tmp_path / "base.safetensors", tmp_path / "ft.safetensors"]
    for model, path in zip(models, paths, strict=True):
        save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(path))
    paths[1].write_bytes(paths[1].read_bytes()[:-16])
    with pytest.raises(CheckpointError, match="truncated"):
        stream_merge(paths[0], paths[1:], [0.5], tmp_path / "out.safetensors")
    assert not list(tmp_path.glob("*.tmp")) and not (tmp_path / "out.safetensors").exists()
