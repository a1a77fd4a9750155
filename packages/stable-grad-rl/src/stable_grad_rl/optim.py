"""Optimizers: PSGD-Kron (``kron-torch``, run eagerly on CPU), Adam, RAdam and RMSProp.

Kron follows the paper's code: the learning rate passed in is the *baseline* (Adam/RAdam) rate and
Kron runs at ``lr / 3``; momentum 0.9; preconditioner-update probability 1 for 500 steps, then annealed
to 0.03; per-tensor update RMS clipped to 1.1; weight decay (if any) only on tensors with >= 2 dims.
``kron-torch`` decorates its kernels with ``torch.compile``; here every step runs with the compiler
forced to eager mode, so neither triton nor a C++ toolchain is used.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterable, Iterator
from typing import Any, cast

import torch

OPTIMIZERS = ("adam", "radam", "rmsprop", "kron")
#: Kron runs at the baseline learning rate divided by this (upstream ``args.learning_rate /= 3.0``).
KRON_LR_DIVISOR = 3.0


@contextlib.contextmanager
def _eager() -> Iterator[None]:
    """Run ``torch.compile``-decorated functions eagerly (no dynamo, inductor or triton)."""
    set_stance = getattr(getattr(torch, "compiler", None), "set_stance", None)
    if set_stance is not None:
        with set_stance("force_eager"):
            yield
    else:  # pragma: no cover - torch < 2.6
        from torch import _dynamo

        with _dynamo.config.patch(disable=True):
            yield


def _kron_class() -> Any:
    try:
        from kron_torch import Kron
    except ImportError as err:  # pragma: no cover - kron-torch is a declared dependency
        raise ImportError("the 'kron' optimizer needs kron-torch: pip install 'kron-torch==0.3.3'") from err

    class EagerKron(Kron):  # type: ignore[misc]
        """``kron_torch.Kron`` stepped eagerly, quietly, with its step counters in the state dict."""

        @torch.no_grad()
        def step(self, closure: Any = None) -> Any:
            """One Kron step (compiler forced eager; kron-torch's size printout swallowed)."""
            with _eager(), contextlib.redirect_stdout(io.StringIO()):
                return super().step(closure)

        def state_dict(self) -> dict[str, Any]:
            """Torch state dict (loadable with ``weights_only=True``) plus Kron's schedule counters and RNG."""
            state = super().state_dict()
            state["param_groups"] = [
                {k: v for k, v in g.items() if k != "preconditioner_update_probability"}
                for g in state["param_groups"]
            ]
            for entry in state["state"].values():
                if "merged_shape" in entry:
                    entry["merged_shape"] = [int(v) for v in entry["merged_shape"]]
            version, internal, gauss = self.rng.getstate()
            state["kron_counters"] = {
                "prob_step": int(self._prob_step),
                "update_counter": int(self._update_counter),
                "rng": [version, list(internal), gauss],
            }
            return cast(dict[str, Any], state)

        def load_state_dict(self, state_dict: dict[str, Any]) -> None:
            """Inverse of :meth:`state_dict`."""
            state_dict = dict(state_dict)
            counters = state_dict.pop("kron_counters", None)
            state_dict["param_groups"] = [
                {"preconditioner_update_probability": own["preconditioner_update_probability"], **saved}
                for own, saved in zip(self.param_groups, state_dict["param_groups"], strict=True)
            ]
            # torch's loader would re-cast kron-torch's einsum strings; keep them aside and put them back.
            state_dict["state"] = {k: dict(v) for k, v in state_dict["state"].items()}
            exprs = {k: v.pop("exprs") for k, v in state_dict["state"].items() if "exprs" in v}
            super().load_state_dict(state_dict)
            params = [p for g in self.param_groups for p in g["params"]]
            for k, expr in exprs.items():
                expr_a, expr_gs, expr_p = expr
                self.state[params[int(k)]]["exprs"] = (expr_a, tuple(expr_gs), expr_p)
            if counters is not None:
                self._prob_step = torch.tensor(counters["prob_step"], dtype=torch.int32)
                self._update_counter = torch.tensor(counters["update_counter"], dtype=torch.int32)
                version, internal, gauss = counters["rng"]
                self.rng.setstate((version, tuple(internal), gauss))

    return EagerKron


def make_optimizer(
    name: str,
    params: Iterable[torch.nn.Parameter] | Iterable[dict[str, Any]],
    lr: float,
    *,
    weight_decay: float = 0.0,
    kron_lr_divisor: float = KRON_LR_DIVISOR,
    **kwargs: Any,
) -> torch.optim.Optimizer:
    """Build optimizer ``name`` in ``adam``/``radam``/``rmsprop``/``kron`` over ``params``.

    ``lr`` is the baseline (Adam) learning rate; ``kron`` uses ``lr / kron_lr_divisor`` (3 upstream).
    Extra keyword arguments go to the optimizer's constructor.
    """
    if name not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {name!r}; expected one of {OPTIMIZERS}")
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not lr > 0:
        raise ValueError(f"lr must be a positive number, got {lr!r}")
    if not weight_decay >= 0:
        raise ValueError(f"weight_decay must be >= 0, got {weight_decay!r}")
    param_list: list[Any] = list(params)
    if not param_list:
        raise ValueError("make_optimizer got an empty parameter list")
    if name == "adam":
        return torch.optim.Adam(param_list, lr=lr, weight_decay=weight_decay, **kwargs)
    if name == "radam":
        return torch.optim.RAdam(param_list, lr=lr, weight_decay=weight_decay, **kwargs)
    if name == "rmsprop":
        return torch.optim.RMSprop(param_list, lr=lr, weight_decay=weight_decay, **kwargs)
    if not kron_lr_divisor > 0:
        raise ValueError(f"kron_lr_divisor must be > 0, got {kron_lr_divisor!r}")
    return cast(
        torch.optim.Optimizer,
        _kron_class()(param_list, lr=lr / kron_lr_divisor, weight_decay=weight_decay, **kwargs),
    )
