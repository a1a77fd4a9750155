"""The evaluation cache keys on what the evaluator reads: its data and its metric, not only its code."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from map_merge import CachedEvaluator, MergeObjective, classification_evaluator, task_vectors
from map_merge.evaluators import data_digest


def objective(inputs: torch.Tensor, labels: torch.Tensor, metric: str) -> MergeObjective:
    torch.manual_seed(0)
    base = torch.nn.Linear(3, 2)
    tuned = [{k: v + 0.1 * (i + 1) for k, v in base.state_dict().items()} for i in range(2)]
    loaders = {t: [(inputs, labels)] for t in ("a", "b")}
    return MergeObjective(
        base,
        task_vectors(base, dict(zip("ab", tuned, strict=True))),
        classification_evaluator(loaders, metric=metric),
    )


def front(evaluate: MergeObjective, cache) -> np.ndarray:
    return CachedEvaluator(evaluate, 2, cache).many(np.array([[0.0, 0.0], [1.0, 0.0], [0.5, 0.5]]))


def test_loss_after_accuracy_on_one_cache_is_refused(tmp_path) -> None:
    inputs, labels = torch.randn(8, 3, generator=torch.Generator().manual_seed(1)), torch.arange(8) % 2
    cache = tmp_path / "evaluations.jsonl"
    accuracy = front(objective(inputs, labels, "accuracy"), cache)
    with pytest.raises(ValueError, match="holds evaluations of another run"):
        front(objective(inputs, labels, "loss"), cache)
    assert np.array_equal(front(objective(inputs, labels, "accuracy"), cache), accuracy)


def test_changed_data_is_refused_and_batch_order_does_not_matter(tmp_path) -> None:
    inputs, labels = torch.randn(8, 3, generator=torch.Generator().manual_seed(1)), torch.arange(8) % 2
    cache = tmp_path / "evaluations.jsonl"
    front(objective(inputs, labels, "accuracy"), cache)
    changed = inputs.clone()
    changed[3, 1] += 1.0
    with pytest.raises(ValueError, match="holds evaluations of another run"):
        front(objective(changed, labels, "accuracy"), cache)
    order = torch.randperm(8, generator=torch.Generator().manual_seed(2))
    one = {"a": [(inputs, labels)]}
    shuffled = {"a": [(inputs[order[:5]], labels[order[:5]]), (inputs[order[5:]], labels[order[5:]])]}
    assert data_digest(one) == data_digest(shuffled)
    assert data_digest(one) != data_digest({"a": [(inputs, 1 - labels)]})


def test_a_config_evaluator_may_declare_its_data_digest(tmp_path) -> None:
    from map_merge.cache import callable_fingerprint

    def evaluate(model: torch.nn.Module) -> dict[str, float]:
        return {}

    evaluate.fingerprint = lambda: {"data": "v1"}  # type: ignore[attr-defined]
    first = callable_fingerprint(evaluate)
    evaluate.fingerprint = lambda: {"data": "v2"}  # type: ignore[attr-defined]
    assert first["declared"] == {"data": "v1"} and callable_fingerprint(evaluate) != first
