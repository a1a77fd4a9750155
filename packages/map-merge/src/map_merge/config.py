"""The `map-merge front` configuration: base, fine-tuned models, model class, evaluator, search options."""

from __future__ import annotations

import importlib
import inspect
import json
import math
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from map_merge.amortized import DESIGNS, METHODS, amortized_front
from map_merge.cache import callable_fingerprint, file_digest
from map_merge.checkpoints import weight_files
from map_merge.surrogate import n_coefficients

if TYPE_CHECKING:
    import torch

    from map_merge.evaluators import MergeObjective


def front_default(name: str) -> Any:
    """The default of ``amortized_front``'s argument ``name``: the one source of the search defaults."""
    return inspect.signature(amortized_front).parameters[name].default


@dataclass
class FrontConfig:
    """What `map-merge front` reads from YAML or JSON. Paths are relative to the config file; evaluator
    and model factory modules are looked up beside the config file first (``root``). The search
    options default to ``amortized_front``'s defaults."""

    base: str
    models: dict[str, str]
    evaluator: str
    model: str | None = None
    maximize: bool = front_default("maximize")
    method: str = front_default("method")
    design: str = front_default("design")
    budget: int | None = front_default("budget")
    seed: int = front_default("seed")
    link: str = front_default("link")
    bounds: list[float] = field(default_factory=lambda: list(front_default("bounds")))
    preference: list[float] | None = None
    root: str = "."


def _strict_bool_loader(yaml: Any) -> Any:
    """A ``yaml.SafeLoader`` whose only booleans are true, True, TRUE, false, False and FALSE (YAML 1.2)."""

    class Loader(yaml.SafeLoader):  # type: ignore[misc]
        pass

    bool_tag = "tag:yaml.org,2002:bool"
    Loader.yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag != bool_tag]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    Loader.add_implicit_resolver(
        bool_tag, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
    )
    return Loader


def _load_mapping(path: Path) -> dict[str, Any]:
    text = path.read_text(encoding="utf-8")
    if path.suffix in (".yaml", ".yml"):
        try:
            import yaml
        except ImportError as error:
            raise ImportError(
                'YAML configs need PyYAML: pip install "map-merge[yaml]" (or use JSON)'
            ) from error
        try:
            # plain data only (a SafeLoader: tags such as !!python/object are refused); booleans only
            # as true/false, so YAML 1.1's yes/no/on/off stay strings and the type check refuses them
            raw = yaml.load(text, Loader=_strict_bool_loader(yaml))
        except yaml.YAMLError as error:
            raise ValueError(f"{path}: not valid YAML: {' '.join(str(error).split())}") from error
    else:
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as error:
            raise ValueError(f"{path}: not valid JSON: {error}") from error
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: the config must be a mapping")
    return raw


def _check_types(config: FrontConfig, path: Path) -> None:
    def bad(key: str, expected: str) -> ValueError:
        return ValueError(f"{path}: {key} must be {expected}, got {getattr(config, key)!r}")

    if not isinstance(config.base, str):
        raise bad("base", "a path")
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in config.models.items()):
        raise bad("models", "a mapping of task names to paths")
    for key in ("evaluator", "model"):
        value = getattr(config, key)
        if value is not None and (not isinstance(value, str) or ":" not in value):
            raise bad(key, "'module:attribute'")
    if not isinstance(config.maximize, bool):
        raise bad("maximize", "true or false")
    if config.method not in METHODS:
        raise bad("method", f"one of {METHODS}")
    if config.design not in DESIGNS:
        raise bad("design", f"one of {DESIGNS}")
    if config.budget is not None and (isinstance(config.budget, bool) or not isinstance(config.budget, int)):
        raise bad("budget", "an integer or null")
    if isinstance(config.seed, bool) or not isinstance(config.seed, int):
        raise bad("seed", "an integer")
    numbers = config.bounds if isinstance(config.bounds, list) else [None]
    if len(numbers) != 2 or not all(
        isinstance(b, (int, float)) and not isinstance(b, bool) and math.isfinite(b) for b in numbers
    ):
        raise bad("bounds", "two finite numbers [low, high]")
    if config.preference is not None and not (
        isinstance(config.preference, list)
        and len(config.preference) == len(config.models)
        and all(isinstance(p, (int, float)) and math.isfinite(p) and p >= 0 for p in config.preference)
    ):
        raise bad("preference", f"{len(config.models)} finite non-negative numbers")


def read_config(path: str | Path) -> FrontConfig:
    """Load and check a config file; errors (ValueError) name the bad key or value."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"config file not found: {path}")
    raw = _load_mapping(path)
    known = set(FrontConfig.__dataclass_fields__) - {"root"}
    unknown = sorted(set(raw) - known, key=str)
    if unknown:
        raise ValueError(f"{path}: unknown key {unknown[0]!r}; known keys: {sorted(known)}")
    for key in ("base", "models", "evaluator"):
        if key not in raw:
            raise ValueError(f"{path}: missing key {key!r}")
    if not isinstance(raw["models"], dict) or len(raw["models"]) < 2:
        raise ValueError(f"{path}: 'models' must map at least two task names to model paths")
    config = FrontConfig(**raw)
    _check_types(config, path)
    root = path.parent.resolve()
    config.root = str(root)
    config.base = str((root / config.base).resolve())
    config.models = {task: str((root / p).resolve()) for task, p in config.models.items()}
    for name, model_path in [("base", config.base), *config.models.items()]:
        if not Path(model_path).exists():
            raise ValueError(f"{path}: {name} model not found at {model_path}")
    return config


def import_object(reference: str, root: str | Path | None = None) -> Callable[..., Any]:
    """Import ``"package.module:attribute"``, looking in folder ``root`` (the config's) first, then on
    sys.path. A plain import: nothing from the config is evaluated."""
    module_name, _, attribute = reference.partition(":")
    if not module_name or not attribute:
        raise ValueError(f"expected 'module:attribute', got {reference!r}")
    added = root is not None and str(root) not in sys.path
    if added:
        sys.path.insert(0, str(root))
    try:
        found: Callable[..., Any] = getattr(importlib.import_module(module_name), attribute)
        return found
    except (ImportError, AttributeError) as error:
        raise ValueError(f"cannot import {reference!r}: {error}") from error
    finally:
        if added:
            sys.path.remove(str(root))


def build_module(config: FrontConfig) -> torch.nn.Module:
    """The module the merges are loaded into: ``model`` factory if given, else the base's HF architecture."""
    if config.model is not None:
        built: torch.nn.Module = import_object(config.model, config.root)()
        return built
    config_file = Path(config.base) / "config.json"
    if not config_file.is_file():
        raise ValueError(
            "set 'model' to a factory 'module:function' when the base is not a Hugging Face folder"
        )
    import transformers

    architectures = json.loads(config_file.read_text(encoding="utf-8")).get("architectures") or ["AutoModel"]
    model_class = getattr(transformers, architectures[0])
    loaded: torch.nn.Module = model_class.from_pretrained(config.base, local_files_only=True)
    return loaded


def build_objective(config: FrontConfig) -> MergeObjective:
    """The local evaluate callable of a config: its module with the task vectors and evaluator loaded."""
    from map_merge.evaluators import MergeObjective
    from map_merge.task_vectors import task_vectors

    evaluator = import_object(config.evaluator, config.root)
    vectors = task_vectors(config.base, config.models)
    return MergeObjective(build_module(config), vectors, evaluator)


def minimum_budget(method: str, n_tasks: int) -> int:
    """The smallest budget a method can fit its quadratic surrogates with (one more evaluation than
    coefficients for MAP, so that the fit has a held-out error; two more for Bayesian MAP; per pairwise
    merge of two tasks for nested MAP)."""
    p = n_coefficients(n_tasks)
    if method == "bayesian":
        return p + 2
    if method == "nested":
        return (n_coefficients(2) + 1) * (n_tasks - 1)
    return p + 1


def check_budget(config: FrontConfig) -> None:
    """ValueError (before any evaluation) when the budget is too small for the method's surrogates."""
    if config.budget is None:
        return
    if config.budget < 1:
        raise ValueError(f"--budget must be positive, got {config.budget}")
    least = minimum_budget(config.method, len(config.models))
    if config.budget < least:
        raise ValueError(
            f"--budget {config.budget} is too small for method {config.method!r} with {len(config.models)} "
            f"tasks: its quadratic surrogates need at least {least} evaluations"
        )


def run_context(config: FrontConfig) -> dict[str, object]:
    """Everything that determines a run's evaluations, for the cache: digests of every weight file, the
    evaluator's and model factory's identity (name and source digest)."""

    def files(path: str) -> list[str]:
        return [f"{f.name}:{f.stat().st_size}:{file_digest(f)}" for f in weight_files(path)]

    return {
        "base": files(config.base),
        "models": {task: files(p) for task, p in config.models.items()},
        "evaluator": callable_fingerprint(import_object(config.evaluator, config.root)),
        "model": None
        if config.model is None
        else callable_fingerprint(import_object(config.model, config.root)),
    }
