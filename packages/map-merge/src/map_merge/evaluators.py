"""Objectives that merge real models: coefficients -> merged model -> metrics per task."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import torch

from map_merge.cache import callable_fingerprint
from map_merge.task_vectors import TaskVectors

ModelEvaluator = Callable[[torch.nn.Module], Mapping[str, float]]


class MergeObjective:
    """``objective(c) -> metrics (T,)``: loads theta(c) into ``module`` in place and runs ``evaluator``.

    ``evaluator(model) -> {task: metric}`` is any callable; the metrics are returned in ``task_names``
    order (by default the task vectors' names).
    """

    def __init__(
        self,
        module: torch.nn.Module,
        vectors: TaskVectors,
        evaluator: ModelEvaluator,
        task_names: Sequence[str] | None = None,
    ) -> None:
        self.module = module
        self.vectors = vectors
        self.evaluator = evaluator
        self.task_names = list(task_names or vectors.task_names)
        missing = [k for k in vectors.keys if k not in module.state_dict()]
        if missing:
            raise ValueError(f"the module has no entry {missing[0]!r} of the task vectors")

    def fingerprint(self) -> dict[str, object]:
        """What determines this objective's results, for the evaluation cache: digests of the base and of
        every task vector, the task names, the module's class and the evaluator's identity."""
        digest = hashlib.blake2b(digest_size=16)
        for tensor in (self.vectors.flat_base, self.vectors.flat_vectors):
            digest.update(tensor.contiguous().view(-1).view(torch.uint8).numpy().data)
        return {
            "weights": digest.hexdigest(),
            "tasks": self.task_names,
            "module": f"{type(self.module).__module__}.{type(self.module).__qualname__}",
            "evaluator": callable_fingerprint(self.evaluator),
        }

    def __call__(self, c: np.ndarray) -> np.ndarray:
        """Metrics (T,) of the merge with coefficients c (T,)."""
        self.vectors.load_into(self.module, np.asarray(c, dtype=np.float64))
        self.module.eval()
        with torch.no_grad():
            metrics = self.evaluator(self.module)
        absent = [t for t in self.task_names if t not in metrics]
        if absent:
            raise KeyError(f"the evaluator returned no metric for task {absent[0]!r} (got {sorted(metrics)})")
        return np.array([float(metrics[t]) for t in self.task_names])


def classification_evaluator(
    loaders: Mapping[str, object],
    *,
    metric: str = "accuracy",
    heads: Mapping[str, torch.nn.Module] | None = None,
    device: str | torch.device = "cpu",
) -> ModelEvaluator:
    """Built-in evaluator: accuracy or mean cross-entropy loss of each task on its dataloader.

    ``loaders[task]`` yields ``(inputs, labels)`` batches. With ``heads``, the model is a shared trunk and
    ``heads[task](model(inputs))`` gives that task's logits (each task keeps its own frozen head, as in
    MAP); otherwise ``model(inputs)`` must return logits (or an object with ``.logits``).
    """
    if metric not in ("accuracy", "loss"):
        raise ValueError(f"metric must be 'accuracy' or 'loss', got {metric!r}")

    def evaluate(model: torch.nn.Module) -> dict[str, float]:
        results = {}
        for task, loader in loaders.items():
            correct, loss_sum, count = 0.0, 0.0, 0
            for inputs, labels in loader:  # type: ignore[attr-defined]
                inputs, labels = inputs.to(device), labels.to(device)
                output = model(inputs)
                output = getattr(output, "logits", output)
                logits = heads[task](output) if heads is not None else output
                loss_sum += float(torch.nn.functional.cross_entropy(logits, labels, reduction="sum"))
                correct += float((logits.argmax(dim=1) == labels).sum())
                count += len(labels)
            if count == 0:
                raise ValueError(f"the dataloader of task {task!r} is empty")
            results[task] = correct / count if metric == "accuracy" else loss_sum / count
        return results

    return evaluate
