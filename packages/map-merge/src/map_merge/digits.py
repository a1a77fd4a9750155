"""A real, offline merging problem: an MLP trunk pre-trained on scikit-learn's digits, fine-tuned per task."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial

import numpy as np
import torch
from torch import nn

TASKS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "digits_0_4": lambda y: np.where(y < 5, y, -1),
    "digits_5_9": lambda y: np.where(y >= 5, y - 5, -1),
    "parity": lambda y: y % 2,
    "at_least_5": lambda y: (y >= 5).astype(int),
    "mod_3": lambda y: y % 3,
    "classes_0_2": lambda y: np.where(y <= 2, y, -1),
    "classes_3_5": lambda y: np.where((y >= 3) & (y <= 5), y - 3, -1),
    "classes_6_9": lambda y: np.where(y >= 6, y - 6, -1),
    "classes_1_4_7": lambda y: np.select([y == 1, y == 4, y == 7], [0, 1, 2], -1),
    "classes_3_5_8": lambda y: np.select([y == 3, y == 5, y == 8], [0, 1, 2], -1),
    "classes_0_2_6_9": lambda y: np.select([y == 0, y == 2, y == 6, y == 9], [0, 1, 2, 3], -1),
}
PRETRAINING = ("noisy", "autoencoder", "none")


@dataclass
class DigitsProblem:
    """Base trunk, fine-tuned trunks and frozen heads for the chosen tasks, with test data per task."""

    base: nn.Module
    finetuned: list[nn.Module]
    heads: dict[str, nn.Linear]
    test: dict[str, tuple[torch.Tensor, torch.Tensor]]
    task_names: list[str]


def make_trunk(width: int = 64) -> nn.Module:
    """The shared trunk: 64 -> width -> width with ReLU."""
    return nn.Sequential(nn.Linear(64, width), nn.ReLU(), nn.Linear(width, width), nn.ReLU())


def _load_digits(seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    try:
        from sklearn.datasets import load_digits
    except ImportError as error:
        raise ImportError('the digits demo needs scikit-learn: pip install "map-merge[demo]"') from error
    data = load_digits()
    x = torch.tensor(data.data / 16.0, dtype=torch.float32)
    y = torch.tensor(data.target, dtype=torch.long)
    order = torch.randperm(len(y), generator=torch.Generator().manual_seed(seed))
    split = int(0.7 * len(y))
    return x[order[:split]], y[order[:split]], x[order[split:]], y[order[split:]]


def _loss(model: nn.Module, inputs: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of a model on one batch."""
    return nn.functional.cross_entropy(model(inputs), labels)


def _train(
    params: Iterable[nn.Parameter], loss_fn: Callable[[], torch.Tensor], epochs: int, lr: float
) -> None:
    optimizer = torch.optim.Adam(params, lr=lr)
    for _ in range(epochs):
        optimizer.zero_grad()
        loss_fn().backward()  # type: ignore[no-untyped-call]
        optimizer.step()


def _task_data(x: torch.Tensor, y: torch.Tensor, task: str) -> tuple[torch.Tensor, torch.Tensor]:
    labels = torch.as_tensor(TASKS[task](y.numpy()))
    keep = labels >= 0
    return x[keep], labels[keep]


def _pretrain(base: nn.Module, x: torch.Tensor, y: torch.Tensor, how: str, seed: int, width: int) -> None:
    """noisy: 10-class classification on inputs with noise N(0, 0.5^2); autoencoder: reconstruct the
    inputs through a linear decoder (no labels); none: keep the random initialisation."""
    if how == "noisy":
        head10 = nn.Linear(width, 10)
        noisy = x + 0.5 * torch.randn(x.shape, generator=torch.Generator().manual_seed(seed))
        _train(
            list(base.parameters()) + list(head10.parameters()),
            lambda: nn.functional.cross_entropy(head10(base(noisy)), y),
            epochs=30,
            lr=1e-2,
        )
    elif how == "autoencoder":
        decoder = nn.Linear(width, 64)
        _train(
            list(base.parameters()) + list(decoder.parameters()),
            lambda: nn.functional.mse_loss(decoder(base(x)), x),
            epochs=300,
            lr=1e-2,
        )


def build_digits_problem(
    tasks: list[str], seed: int = 0, finetune_steps: int = 150, pretrain: str = "noisy", width: int = 64
) -> DigitsProblem:
    """Pre-train a trunk (``pretrain``: noisy 10-class digits, an autoencoder, or none), fit a frozen
    linear probe per task on the base's features, fine-tune the trunk per task (full-batch Adam).
    Deterministic for a seed."""
    unknown = [t for t in tasks if t not in TASKS]
    if unknown:
        raise ValueError(f"unknown digits task {unknown[0]!r}; choose from {sorted(TASKS)}")
    if pretrain not in PRETRAINING:
        raise ValueError(f"pretrain must be one of {PRETRAINING}, got {pretrain!r}")
    torch.manual_seed(seed)
    x_train, y_train, x_test, y_test = _load_digits(seed)
    base = make_trunk(width)
    _pretrain(base, x_train, y_train, pretrain, seed, width)
    heads, finetuned, test = {}, [], {}
    for task in tasks:
        xt, yt = _task_data(x_train, y_train, task)
        head = nn.Linear(width, int(yt.max()) + 1)
        with torch.no_grad():
            features = base(xt)
        _train(
            head.parameters(),
            partial(_loss, head, features, yt),
            100,
            1e-2,
        )
        head.requires_grad_(False)
        trunk = make_trunk(width)
        trunk.load_state_dict(base.state_dict())
        _train(
            trunk.parameters(),
            partial(_loss, nn.Sequential(trunk, head), xt, yt),
            finetune_steps,
            3e-3,
        )
        heads[task], test[task] = head, _task_data(x_test, y_test, task)
        finetuned.append(trunk)
    return DigitsProblem(base, finetuned, heads, test, list(tasks))
