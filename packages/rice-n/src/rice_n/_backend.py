"""A tiny array namespace so that one implementation of the dynamics runs on numpy and on torch."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

import numpy as np


class NumpyOps:
    """Array operations on numpy (float64 by default)."""

    name = "numpy"

    def __init__(self, dtype: Any = np.float64) -> None:
        self.dtype = np.dtype(dtype)
        self.device = None
        self._scratch: dict[tuple[str, tuple[int, ...]], np.ndarray] = {}
        self._ones: dict[int, np.ndarray] = {}

    def _buffer(self, key: str, shape: tuple[int, ...]) -> np.ndarray:
        buf = self._scratch.get((key, shape))
        if buf is None:
            buf = self._scratch[(key, shape)] = np.empty(shape, dtype=self.dtype)
        return buf

    def scratch_mul(self, x: Any, y: Any, key: str) -> np.ndarray:
        """``x * y`` into a reused buffer: only for temporaries that never escape a step."""
        out: np.ndarray = np.multiply(
            x, y, out=self._buffer(key, np.broadcast_shapes(np.shape(x), np.shape(y)))
        )
        return out

    def owns(self, x: Any) -> bool:
        """True when ``x`` is (a contiguous view of) one of this backend's scratch buffers."""
        if not isinstance(x, np.ndarray) or not x.flags.c_contiguous:
            return False
        base = x if x.base is None else x.base
        return any(base is buf for buf in self._scratch.values())

    def offdiag(self, x: Any, mask: Any, key: str) -> Any:
        """``x`` with a zero diagonal on its last two axes: in place for a scratch buffer, else a copy."""
        if self.owns(x):
            n = x.shape[-1]
            x.reshape(*x.shape[:-2], n * n)[..., :: n + 1] = 0.0
            return x
        return self.scratch_mul(x, mask, key)

    def scratch_sqrt_keep_mul(self, tau: Any, b: Any, key: str) -> np.ndarray:
        """``sqrt(b * (1 - tau))`` into a reused buffer (a temporary)."""
        out = self._buffer(key, np.broadcast_shapes(np.shape(tau), np.shape(b)))
        np.subtract(1.0, tau, out=out)
        np.multiply(out, b, out=out)
        root: np.ndarray = np.sqrt(out, out=out)
        return root

    def divide(self, x: Any, divisor: Any, scratch: str | None = None) -> np.ndarray:
        """``x / divisor`` as this backend's float dtype (x may be an integer array).

        With ``scratch``, the result goes to a reused buffer (only for temporaries of one step).
        """
        shape = np.broadcast_shapes(np.shape(x), np.shape(divisor))
        out = np.empty(shape, dtype=self.dtype) if scratch is None else self._buffer(scratch, shape)
        np.copyto(out, x)  # cast first: dividing contiguous floats is faster than a casting ufunc loop
        quotient: np.ndarray = np.divide(out, divisor, out=out)
        return quotient

    def rowsum(self, a: np.ndarray) -> np.ndarray:
        """Sum over the last axis of (B, N, N) as a matrix-vector product (faster than a reduction)."""
        n = a.shape[-1]
        ones = self._ones.get(n)
        if ones is None:
            ones = self._ones[n] = np.ones(n, dtype=self.dtype)
        sums: np.ndarray = np.matmul(a, ones)
        return sums

    exp = staticmethod(cast(Callable[..., Any], np.exp))
    log2 = staticmethod(cast(Callable[..., Any], np.log2))
    log = staticmethod(cast(Callable[..., Any], np.log))
    sqrt = staticmethod(cast(Callable[..., Any], np.sqrt))
    where = staticmethod(cast(Callable[..., Any], np.where))
    minimum = staticmethod(cast(Callable[..., Any], np.minimum))
    maximum = staticmethod(cast(Callable[..., Any], np.maximum))

    def clip(self, x: Any, lo: float | None, hi: float | None) -> Any:
        """Clip to [lo, hi] (a bound may be None)."""
        return np.clip(x, lo, hi)

    def asarray(self, x: Any) -> np.ndarray:
        """Convert to a float array of this backend's dtype."""
        return np.asarray(x, dtype=self.dtype)

    def as_int(self, x: Any) -> np.ndarray:
        """Convert to an integer array."""
        return np.asarray(x)

    def zeros(self, shape: tuple[int, ...]) -> np.ndarray:
        """Zeros of this backend's float dtype."""
        return np.zeros(shape, dtype=self.dtype)

    def empty(self, shape: tuple[int, ...], dtype: Any = None) -> np.ndarray:
        """Uninitialized array."""
        return np.empty(shape, dtype=self.dtype if dtype is None else dtype)

    def ones_mask(self, shape: tuple[int, ...]) -> np.ndarray:
        """An int8 array of ones (action masks)."""
        return np.ones(shape, dtype=np.int8)

    def arange(self, n: int) -> np.ndarray:
        """0..n-1 as integers."""
        return np.arange(n)

    def matvec(self, a: np.ndarray, v: np.ndarray) -> np.ndarray:
        """Batched ``a @ v``: (B, N, N) x (B, N) -> (B, N)."""
        av: np.ndarray = np.matmul(a, v[..., None])[..., 0]
        return av

    def vecmat(self, v: np.ndarray, a: np.ndarray) -> np.ndarray:
        """Batched ``v @ a``: (B, N) x (B, N, N) -> (B, N)."""
        va: np.ndarray = np.matmul(v[..., None, :], a)[..., 0, :]
        return va

    def round(self, x: Any) -> Any:
        """Round half to even, as numpy and Python do."""
        return np.round(x)

    def isfinite_all(self, x: Any) -> bool:
        """True when every value is finite."""
        return bool(np.all(np.isfinite(x)))

    def to_numpy(self, x: Any) -> np.ndarray:
        """The values as a numpy array."""
        return np.asarray(x)

    def amax(self, x: Any, axis: int) -> Any:
        """Maximum along an axis."""
        return np.max(x, axis=axis)

    def concat(self, parts: list[Any], axis: int = -1) -> Any:
        """Concatenate along an axis."""
        return np.concatenate(parts, axis=axis)

    def eye(self, n: int) -> np.ndarray:
        """Identity matrix of this backend's float dtype."""
        return np.eye(n, dtype=self.dtype)


class TorchOps:
    """Array operations on torch tensors, on any device (float64 by default)."""

    name = "torch"

    def __init__(self, dtype: Any = None, device: Any = None) -> None:
        import torch

        self.torch = torch
        self.dtype = torch.float64 if dtype is None else dtype
        self.device = torch.device("cpu" if device is None else device)

    def exp(self, x: Any) -> Any:
        """Elementwise exp."""
        return self.torch.exp(x)

    def scratch_mul(self, x: Any, y: Any, key: str) -> Any:
        """``x * y`` (torch allocates through its caching allocator)."""
        return x * y

    def offdiag(self, x: Any, mask: Any, key: str) -> Any:
        """``x`` with a zero diagonal on its last two axes (a new tensor)."""
        return x * mask

    def scratch_sqrt_keep_mul(self, tau: Any, b: Any, key: str) -> Any:
        """``sqrt(b * (1 - tau))``."""
        return self.torch.sqrt(b * (1.0 - tau))

    def divide(self, x: Any, divisor: Any, scratch: str | None = None) -> Any:
        """``x / divisor`` as this backend's float dtype (x may be an integer tensor)."""
        return x.to(self.dtype) / divisor

    def rowsum(self, a: Any) -> Any:
        """Sum over the last axis."""
        return a.sum(-1)

    def log2(self, x: Any) -> Any:
        """Elementwise log2."""
        return self.torch.log2(x)

    def log(self, x: Any) -> Any:
        """Elementwise natural log."""
        return self.torch.log(x)

    def sqrt(self, x: Any) -> Any:
        """Elementwise sqrt."""
        return self.torch.sqrt(x)

    def where(self, cond: Any, a: Any, b: Any) -> Any:
        """Elementwise select."""
        t = self.torch
        a = a if isinstance(a, t.Tensor) else t.tensor(a, dtype=self.dtype, device=self.device)
        b = b if isinstance(b, t.Tensor) else t.tensor(b, dtype=self.dtype, device=self.device)
        return t.where(cond, a, b)

    def minimum(self, a: Any, b: Any) -> Any:
        """Elementwise minimum of two tensors."""
        return self.torch.minimum(a, b)

    def maximum(self, a: Any, b: Any) -> Any:
        """Elementwise maximum (b may be a scalar)."""
        if not isinstance(b, self.torch.Tensor):
            return self.torch.clamp(a, min=b)
        return self.torch.maximum(a, b)

    def clip(self, x: Any, lo: float | None, hi: float | None) -> Any:
        """Clip to [lo, hi] (a bound may be None)."""
        return self.torch.clamp(x, min=lo, max=hi)

    def asarray(self, x: Any) -> Any:
        """Convert to a float tensor of this backend's dtype and device."""
        if isinstance(x, self.torch.Tensor):
            return x.to(device=self.device, dtype=self.dtype)
        return self.torch.as_tensor(np.asarray(x, dtype=np.float64), dtype=self.dtype, device=self.device)

    def as_int(self, x: Any) -> Any:
        """Convert to an integer tensor on this device."""
        if isinstance(x, self.torch.Tensor):
            return x.to(device=self.device)
        return self.torch.as_tensor(np.asarray(x), device=self.device)

    def zeros(self, shape: tuple[int, ...]) -> Any:
        """Zeros of this backend's float dtype."""
        return self.torch.zeros(shape, dtype=self.dtype, device=self.device)

    def empty(self, shape: tuple[int, ...], dtype: Any = None) -> Any:
        """Uninitialized tensor."""
        return self.torch.empty(shape, dtype=self.dtype if dtype is None else dtype, device=self.device)

    def ones_mask(self, shape: tuple[int, ...]) -> Any:
        """An int8 tensor of ones (action masks)."""
        return self.torch.ones(shape, dtype=self.torch.int8, device=self.device)

    def arange(self, n: int) -> Any:
        """0..n-1 as integers."""
        return self.torch.arange(n, device=self.device)

    def matvec(self, a: Any, v: Any) -> Any:
        """Batched ``a @ v``: (B, N, N) x (B, N) -> (B, N)."""
        return self.torch.matmul(a, v.unsqueeze(-1)).squeeze(-1)

    def vecmat(self, v: Any, a: Any) -> Any:
        """Batched ``v @ a``: (B, N) x (B, N, N) -> (B, N)."""
        return self.torch.matmul(v.unsqueeze(-2), a).squeeze(-2)

    def round(self, x: Any) -> Any:
        """Round half to even (as numpy)."""
        return self.torch.round(x)

    def isfinite_all(self, x: Any) -> bool:
        """True when every value is finite."""
        return bool(self.torch.isfinite(x).all())

    def to_numpy(self, x: Any) -> np.ndarray:
        """The values as a numpy array (copied to the host)."""
        values: np.ndarray = x.detach().cpu().numpy()
        return values

    def amax(self, x: Any, axis: int) -> Any:
        """Maximum along an axis."""
        return self.torch.amax(x, dim=axis)

    def concat(self, parts: list[Any], axis: int = -1) -> Any:
        """Concatenate along an axis."""
        return self.torch.cat(parts, dim=axis)

    def eye(self, n: int) -> Any:
        """Identity matrix of this backend's float dtype."""
        return self.torch.eye(n, dtype=self.dtype, device=self.device)


def make_ops(backend: str = "numpy", dtype: Any = None, device: Any = None) -> NumpyOps | TorchOps:
    """The array namespace of a backend name: ``"numpy"`` or ``"torch"``."""
    if backend == "numpy":
        if device not in (None, "cpu"):
            raise ValueError(f"the numpy backend runs on the CPU only, got device={device!r}")
        return NumpyOps(np.float64 if dtype is None else dtype)
    if backend == "torch":
        try:
            import torch  # noqa: F401
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise ImportError("the torch backend needs torch: pip install 'rice-n[torch]'") from exc
        return TorchOps(dtype, device)
    raise ValueError(f"unknown backend {backend!r}; use 'numpy' or 'torch'")
