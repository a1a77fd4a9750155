"""Save and restore a synchronous vector env exactly, as plain data a ``weights_only`` load accepts.

Each sub-env is walked from its outermost wrapper to the base env; every attribute that is a number,
string, numeric array, list/tuple/str-keyed dict of those, or a ``numpy`` Generator (as its bit-generator
state) is kept. Spaces, the spec, rendering handles and the wrapped ``env`` are configuration and skipped.
Anything else (e.g. a game or emulator object) cannot be saved: :class:`UnsaveableEnv` names it.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import torch

__all__ = ["UnsaveableEnv", "pack", "restore_envs", "snapshot_envs", "unpack"]

_CONFIG_ATTRS = {"env", "spec", "_cached_spec", "metadata", "_metadata", "_saved_kwargs", "render_mode",
                 "screen", "clock", "action_space", "observation_space", "_action_space",
                 "_observation_space"}  # fmt: skip


class UnsaveableEnv(ValueError):
    """An environment attribute that is not plain data."""


def pack(value: Any, name: str) -> Any:
    """``value`` as plain data (arrays become tensors; tuples, dicts and generators are tagged)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (np.ndarray, np.generic)) and value.dtype.kind in "biuf":
        return {"array" if isinstance(value, np.ndarray) else "scalar": torch.from_numpy(np.array(value))}
    if isinstance(value, list):
        return [pack(v, name) for v in value]
    if isinstance(value, tuple):
        return {"tuple": [pack(v, name) for v in value]}
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {"dict": {k: pack(v, name) for k, v in value.items()}}
    if isinstance(value, np.random.Generator):
        return {"generator": pack(value.bit_generator.state, name)}
    raise UnsaveableEnv(f"{name} ({type(value).__name__}) is not plain data")


def unpack(value: Any) -> Any:
    """Inverse of :func:`pack`."""
    if isinstance(value, list):
        return [unpack(v) for v in value]
    if not isinstance(value, dict):
        return value
    [(tag, inner)] = value.items()
    if tag in ("array", "scalar"):
        out = inner.numpy().copy()
        return out if tag == "array" else out[()]
    if tag == "tuple":
        return tuple(unpack(v) for v in inner)
    if tag == "dict":
        return {k: unpack(v) for k, v in inner.items()}
    state = unpack(inner)
    bit_gen = {"PCG64": np.random.PCG64, "MT19937": np.random.MT19937, "SFC64": np.random.SFC64,
               "Philox": np.random.Philox, "PCG64DXSM": np.random.PCG64DXSM}[state["bit_generator"]]  # fmt: skip
    gen = np.random.Generator(bit_gen())
    gen.bit_generator.state = state
    return gen


def _chain(env: gym.Env[Any, Any]) -> list[gym.Env[Any, Any]]:
    chain = [env]
    while isinstance(chain[-1], gym.Wrapper):
        chain.append(chain[-1].env)
    return chain


def snapshot_envs(envs: gym.vector.VectorEnv[Any, Any, Any]) -> dict[str, Any]:
    """Every layer of every sub-env, the autoreset flags and the action-space RNG of a ``SyncVectorEnv``."""
    if not isinstance(envs, gym.vector.SyncVectorEnv):
        raise UnsaveableEnv(f"{type(envs).__name__} is not a SyncVectorEnv")

    def attrs(layer: gym.Env[Any, Any]) -> dict[str, Any]:
        return {
            k: pack(v, f"{type(layer).__name__}.{k}")
            for k, v in vars(layer).items()
            if k not in _CONFIG_ATTRS
        }

    return {
        "layers": [
            [{"class": type(x).__name__, "attrs": attrs(x)} for x in _chain(env)] for env in envs.envs
        ],
        "autoreset": pack(envs._autoreset_envs, "autoreset"),
        "action_rng": pack(envs.action_space._np_random, "action_space"),
    }


def restore_envs(envs: gym.vector.VectorEnv[Any, Any, Any], state: dict[str, Any]) -> None:
    """Inverse of :func:`snapshot_envs`; ``ValueError`` when the saved envs are not these envs' kind."""
    saved = state["layers"]
    if (
        not isinstance(envs, gym.vector.SyncVectorEnv)
        or len(saved) != len(envs.envs)
        or any(
            [type(x).__name__ for x in _chain(env)] != [s["class"] for s in layers]
            for env, layers in zip(envs.envs, saved, strict=False)
        )
    ):
        raise ValueError("the checkpoint's environments differ from this run's")
    for env, layers in zip(envs.envs, saved, strict=True):
        for layer, layer_state in zip(_chain(env), layers, strict=True):
            for key, value in layer_state["attrs"].items():
                setattr(layer, key, unpack(value))
    envs._autoreset_envs = unpack(state["autoreset"])
    envs.action_space._np_random = unpack(state["action_rng"])
