"""Policy files (safetensors + a JSON header) and training checkpoints (torch, weights_only loading)."""

from __future__ import annotations

import io
import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rice_n import __version__
from rice_n._io import write_bytes_atomic, write_json_atomic
from rice_n.train.policy import ObsSplit, SharedPolicy

POLICY_FILE = "policy.safetensors"
POLICY_META = "policy.json"
CHECKPOINT_FILE = "checkpoint.pt"


class PolicyError(ValueError):
    """A policy or checkpoint file is missing, corrupt, or does not fit the environment."""


def policy_meta(policy: SharedPolicy, env_info: dict[str, Any]) -> dict[str, Any]:
    """The JSON header of a policy: architecture, action space and the env it was trained on."""
    return {
        "format": "rice-n-policy/1",
        "n_agents": policy.split.n_agents,
        "shared_dim": policy.split.shared_dim,
        "private_dim": policy.split.private_dim,
        "obs_dim": policy.split.obs_dim,
        "nvec": [int(v) for v in policy.nvec],
        "hidden": list(policy.hidden),
        "env": env_info,
        "rice_n_version": __version__,
    }


def save_policy(folder: str | Path, policy: SharedPolicy, env_info: dict[str, Any]) -> Path:
    """Write ``policy.safetensors`` and ``policy.json`` under ``folder`` (atomically); returns the file."""
    from safetensors.torch import save

    folder = Path(folder)
    state = {k: v.detach().cpu().contiguous() for k, v in policy.state_dict().items()}
    write_bytes_atomic(folder / POLICY_FILE, save(state, metadata={"format": "rice-n-policy/1"}))
    write_json_atomic(folder / POLICY_META, policy_meta(policy, env_info))
    return folder / POLICY_FILE


def load_policy(path: str | Path, device: str | torch.device = "cpu") -> tuple[SharedPolicy, dict[str, Any]]:
    """Load a policy from a run folder (or its ``policy.safetensors``); returns (policy, header)."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    path = Path(path)
    folder = path if path.is_dir() else path.parent
    weights = folder / POLICY_FILE if path.is_dir() else path
    meta_file = folder / POLICY_META
    if not weights.is_file():
        raise PolicyError(f"no policy file at {str(weights)!r} (train one with `rice-n train --out RUN`)")
    try:
        meta = json.loads(meta_file.read_text())
        split = ObsSplit(int(meta["n_agents"]), int(meta["shared_dim"]), int(meta["private_dim"]))
        policy = SharedPolicy(split, np.asarray(meta["nvec"]), tuple(meta["hidden"]))
    except FileNotFoundError:
        raise PolicyError(f"policy header {str(meta_file)!r} is missing") from None
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise PolicyError(f"policy header {str(meta_file)!r} is malformed: {exc}") from None
    try:
        state = load_file(str(weights), device=str(device))
    except (SafetensorError, OSError, RuntimeError) as exc:
        raise PolicyError(f"policy file {str(weights)!r} is corrupt: {exc}") from None
    try:
        policy.load_state_dict(state)
    except RuntimeError as exc:
        raise PolicyError(f"policy file {str(weights)!r} does not match its header: {exc}") from None
    return policy.to(device), meta


def check_fits(meta: dict[str, Any], env: Any, what: str) -> None:
    """Raise :class:`PolicyError` when a policy's action/observation space differs from ``env``'s."""
    nvec = [int(v) for v in env.action_nvec]
    if meta["nvec"] != nvec:
        raise PolicyError(
            f"{what} was trained for {len(meta['nvec'])} action dims (protocol "
            f"{meta.get('env', {}).get('protocol', '?')!r}); this env has {len(nvec)} dims "
            f"(protocol {env.protocol.name!r}): other action space"
        )
    if int(meta["obs_dim"]) != env.obs_dim or int(meta["n_agents"]) != env.n_agents:
        raise PolicyError(
            f"{what} expects {meta['n_agents']} regions and {meta['obs_dim']} features; this env has "
            f"{env.n_agents} regions and {env.obs_dim} features"
        )


def save_checkpoint(path: str | Path, payload: dict[str, Any]) -> Path:
    """Write a checkpoint (tensors, numbers, strings, lists, dicts) atomically with ``torch.save``."""
    buf = io.BytesIO()
    torch.save(payload, buf)
    return write_bytes_atomic(path, buf.getvalue())


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Load a checkpoint with ``weights_only=True``; a clear :class:`PolicyError` if corrupt."""
    path = Path(path)
    if not path.is_file():
        raise PolicyError(f"no checkpoint at {str(path)!r}")
    try:
        with warnings.catch_warnings():  # a foreign pickle's protocol warning: the error below says it all
            warnings.simplefilter("ignore")
            payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types on a corrupt zip/pickle
        raise PolicyError(f"checkpoint {str(path)!r} is corrupt: {type(exc).__name__}: {exc}") from None
    if not isinstance(payload, dict) or "policy" not in payload or "iteration" not in payload:
        raise PolicyError(f"checkpoint {str(path)!r} is not a rice-n training checkpoint")
    return payload
