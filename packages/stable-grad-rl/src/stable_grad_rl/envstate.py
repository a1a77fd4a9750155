"""A vector env's full state as plain data (tensors, numbers, strings) for exact ``--resume``.

Every layer of each sub-env (wrappers, then the base env) is saved attribute by attribute: numbers,
arrays (as tensors), tuples and ``np_random`` generators (their bit-generator state dict). Rendering and
configuration objects (spaces, spec, ``env``) are left alone. An attribute of any other type (e.g.
MinAtar's game object, ALE's emulator) makes the env unsaveable: :class:`EnvStateError` names it. Nothing
is pickled, so a checkpoint still loads with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import torch

_SKIP = frozenset(
    ("env", "spec", "_cached_spec", "metadata", "_metadata", "_saved_kwargs", "render_mode", "screen",
     "clock", "action_space", "observation_space", "_action_space", "_observation_space")
)  # fmt: skip
_BIT_GENERATORS = {c.__name__: c for c in (np.random.PCG64, np.random.PCG64DXSM, np.random.MT19937,
                                           np.random.Philox, np.random.SFC64)}  # fmt: skip


class EnvStateError(ValueError):
    """The environment holds state that cannot be saved as plain data."""


def encode(value: Any, where: str) -> Any:
    """``value`` as ``weights_only``-loadable data (tagged dicts for arrays, tuples and generators)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (np.ndarray, np.generic)) and value.dtype.kind in "biuf":
        tag = "ndarray" if isinstance(value, np.ndarray) else "npscalar"
        return {f"__{tag}__": torch.from_numpy(np.array(value, copy=True))}
    if isinstance(value, (list, tuple)):
        items = [encode(v, where) for v in value]
        return items if isinstance(value, list) else {"__tuple__": items}
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {"__dict__": {k: encode(v, f"{where}[{k}]") for k, v in value.items()}}
    if isinstance(value, np.random.Generator):
        return {"__generator__": encode(value.bit_generator.state, where)}
    raise EnvStateError(f"{where} is a {type(value).__name__}, which cannot be saved")


def decode(value: Any) -> Any:
    """Inverse of :func:`encode`."""
    if isinstance(value, list):
        return [decode(v) for v in value]
    if not isinstance(value, dict):
        return value
    (tag, inner), = value.items()  # fmt: skip
    if tag in ("__ndarray__", "__npscalar__"):
        array = inner.numpy().copy()
        return array if tag == "__ndarray__" else array[()]
    if tag == "__tuple__":
        return tuple(decode(v) for v in inner)
    if tag == "__dict__":
        return {k: decode(v) for k, v in inner.items()}
    state = decode(inner)
    generator = np.random.Generator(_BIT_GENERATORS[state["bit_generator"]]())
    generator.bit_generator.state = state
    return generator


def _layers(env: gym.Env[Any, Any]) -> list[gym.Env[Any, Any]]:
    chain = [env]
    while isinstance(chain[-1], gym.Wrapper):
        chain.append(chain[-1].env)
    return chain


def _attrs(layer: gym.Env[Any, Any]) -> dict[str, Any]:
    name = type(layer).__name__
    return {k: encode(v, f"{name}.{k}") for k, v in vars(layer).items() if k not in _SKIP}


def env_state(envs: gym.vector.VectorEnv[Any, Any, Any]) -> dict[str, Any]:
    """The state of a ``SyncVectorEnv`` and every layer of its sub-envs; :class:`EnvStateError` if unsaveable."""
    if not isinstance(envs, gym.vector.SyncVectorEnv):
        raise EnvStateError(f"a {type(envs).__name__} cannot be saved (only SyncVectorEnv)")
    sub = [
        [{"class": type(layer).__name__, "attrs": _attrs(layer)} for layer in _layers(env)]
        for env in envs.envs
    ]
    autoreset = encode(envs._autoreset_envs, "autoreset")
    return {"envs": sub, "autoreset": autoreset, "action_rng": encode(envs.action_space._np_random, "rng")}


def load_env_state(envs: gym.vector.VectorEnv[Any, Any, Any], state: dict[str, Any]) -> None:
    """Inverse of :func:`env_state`; ``ValueError`` if the saved layers do not match these envs."""
    if not isinstance(envs, gym.vector.SyncVectorEnv) or len(state["envs"]) != len(envs.envs):
        raise ValueError(
            f"checkpoint holds {len(state['envs'])} sub-envs of a SyncVectorEnv, unlike this run"
        )
    for env, saved in zip(envs.envs, state["envs"], strict=True):
        layers = _layers(env)
        if [type(x).__name__ for x in layers] != [s["class"] for s in saved]:
            raise ValueError("checkpoint's environment wrappers differ from this run's")
        for layer, layer_state in zip(layers, saved, strict=True):
            for key, value in layer_state["attrs"].items():
                setattr(layer, key, decode(value))
    envs._autoreset_envs = decode(state["autoreset"])
    envs.action_space._np_random = decode(state["action_rng"])
