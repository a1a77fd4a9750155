"""The `map-merge front` configuration: base, fine-tuned models, model class, evaluator, search options."""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch

from map_merge.amortized import METHODS


@dataclass
class FrontConfig:
    """What `map-merge front` reads from YAML or JSON. Paths are relative to the config file."""

    base: str
    models: dict[str, str]
    evaluator: str
    model: str | None = None
    maximize: bool = True
    method: str = "map"
    budget: int | None = None
    seed: int = 0
    link: str = "auto"
    bounds: list[float] = field(default_factory=lambda: [0.0, 1.0])
    preference: list[float] | None = None


def read_config(path: str | Path) -> FrontConfig:
    """Load and check a config file; errors name the bad key or value."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"config file not found: {path}")
    text = path.read_text(encoding="utf-8")
    if path.suffix in (".yaml", ".yml"):
        try:
            import yaml
        except ImportError as error:
            raise ImportError("YAML configs need PyYAML: pip install pyyaml (or use JSON)") from error
        raw = yaml.safe_load(text)
    else:
        raw = json.loads(text)
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: the config must be a mapping")
    known = set(FrontConfig.__dataclass_fields__)
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ValueError(f"{path}: unknown key {unknown[0]!r}; known keys: {sorted(known)}")
    for key in ("base", "models", "evaluator"):
        if key not in raw:
            raise ValueError(f"{path}: missing key {key!r}")
    if not isinstance(raw["models"], dict) or len(raw["models"]) < 2:
        raise ValueError(f"{path}: 'models' must map at least two task names to model paths")
    config = FrontConfig(**raw)
    if config.method not in METHODS:
        raise ValueError(f"{path}: method {config.method!r} is not one of {METHODS}")
    root = path.parent
    config.base = str((root / config.base).resolve())
    config.models = {task: str((root / p).resolve()) for task, p in config.models.items()}
    for name, model_path in [("base", config.base), *config.models.items()]:
        if not Path(model_path).exists():
            raise ValueError(f"{path}: {name} model not found at {model_path}")
    return config


def import_object(reference: str) -> Callable:
    """Import ``"package.module:attribute"`` (a plain import: nothing from the config is evaluated)."""
    module_name, _, attribute = reference.partition(":")
    if not module_name or not attribute:
        raise ValueError(f"expected 'module:attribute', got {reference!r}")
    try:
        return getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as error:
        raise ValueError(f"cannot import {reference!r}: {error}") from error


def build_module(config: FrontConfig) -> torch.nn.Module:
    """The module the merges are loaded into: ``model`` factory if given, else the base's HF architecture."""
    if config.model is not None:
        return import_object(config.model)()
    config_file = Path(config.base) / "config.json"
    if not config_file.is_file():
        raise ValueError(
            "set 'model' to a factory 'module:function' when the base is not a Hugging Face folder"
        )
    import transformers

    architectures = json.loads(config_file.read_text(encoding="utf-8")).get("architectures") or ["AutoModel"]
    model_class = getattr(transformers, architectures[0])
    return model_class.from_pretrained(config.base, local_files_only=True)
