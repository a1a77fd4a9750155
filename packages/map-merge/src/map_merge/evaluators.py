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


def data_digest(loaders: Mapping[str, object]) -> dict[str, str]:
    """Digest of every task's data as the evaluator reads it: each ``(inputs, labels)`` sample hashed
    (BLAKE2b) and the hashes summed, so the digest is the same in any batch order or batch size."""
    digests = {}
    for task, loader in loaders.items():
        total, count = 0, 0
        for inputs, labels in loader:  # type: ignore[attr-defined]
            rows = [_sample_bytes(inputs), _sample_bytes(labels)]
            for sample in zip(*rows, strict=True):
                digest = hashlib.blake2b(digest_size=16)
                for part in sample:
                    digest.update(part)
                total = (total + int.from_bytes(digest.digest(), "little")) % (1 << 128)
                count += 1
        digests[task] = f"{count}:{total:032x}"
    return digests


def _sample_bytes(batch: torch.Tensor) -> list[bytes]:
    """The bytes of each sample of a batch (dtype and shape included)."""
    batch = torch.as_tensor(batch).detach().cpu().contiguous()
    head = f"{batch.dtype}{tuple(batch.shape[1:])}".encode()
    flat = batch.reshape(len(batch), -1).view(torch.uint8) if batch.numel() else batch.reshape(len(batch), 0)
    array = flat.numpy()
    return [head + row.tobytes() for row in array]


def module_digest(modules: Mapping[str, torch.nn.Module]) -> str:
    """Digest of the state dicts of named modules (the heads of a shared trunk)."""
    digest = hashlib.blake2b(digest_size=16)
    for name in sorted(modules):
        for key, tensor in modules[name].state_dict().items():
            digest.update(f"{name}.{key}:{tensor.dtype}{tuple(tensor.shape)}".encode())
            digest.update(tensor.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


class ClassificationEvaluator:
    """Accuracy or mean cross-entropy loss of each task on its dataloader (see ``classification_evaluator``).

    ``fingerprint()`` declares what its results depend on beyond its code: the metric, a digest of the data
    it reads and of the heads; the evaluation cache keys on it.
    """

    def __init__(
        self,
        loaders: Mapping[str, object],
        metric: str = "accuracy",
        heads: Mapping[str, torch.nn.Module] | None = None,
        device: str | torch.device = "cpu",
    ) -> None:
        if metric not in ("accuracy", "loss"):
            raise ValueError(f"metric must be 'accuracy' or 'loss', got {metric!r}")
        self.loaders = loaders
        self.metric = metric
        self.heads = heads
        self.device = device

    def fingerprint(self) -> dict[str, object]:
        """The metric, the data digest per task and the heads' digest (computed on each call)."""
        return {
            "metric": self.metric,
            "data": data_digest(self.loaders),
            "heads": None if self.heads is None else module_digest(self.heads),
        }

    def __call__(self, model: torch.nn.Module) -> dict[str, float]:
        """{task: metric} of ``model`` on every task's dataloader."""
        results = {}
        for task, loader in self.loaders.items():
            correct, loss_sum, count = 0.0, 0.0, 0
            for inputs, labels in loader:  # type: ignore[attr-defined]
                inputs, labels = inputs.to(self.device), labels.to(self.device)
                output = model(inputs)
                output = getattr(output, "logits", output)
                logits = self.heads[task](output) if self.heads is not None else output
                loss_sum += float(torch.nn.functional.cross_entropy(logits, labels, reduction="sum"))
                correct += float((logits.argmax(dim=1) == labels).sum())
                count += len(labels)
            if count == 0:
                raise ValueError(f"the dataloader of task {task!r} is empty")
            results[task] = correct / count if self.metric == "accuracy" else loss_sum / count
        return results


def classification_evaluator(
    loaders: Mapping[str, object],
    *,
    metric: str = "accuracy",
    heads: Mapping[str, torch.nn.Module] | None = None,
    device: str | torch.device = "cpu",
) -> ClassificationEvaluator:
    """Built-in evaluator: accuracy or mean cross-entropy loss of each task on its dataloader.

    ``loaders[task]`` yields ``(inputs, labels)`` batches. With ``heads``, the model is a shared trunk and
    ``heads[task](model(inputs))`` gives that task's logits (each task keeps its own frozen head, as in
    MAP); otherwise ``model(inputs)`` must return logits (or an object with ``.logits``). The evaluation
    cache keys on its ``fingerprint()``: the metric and digests of the data and heads.
    """
    return ClassificationEvaluator(loaders, metric, heads, device)
