"""Every public name (``__all__``) of every package has a docstring, as the docs site renders it.

Docstrings are read the way mkdocstrings reads them (griffe, from the sources), so that a dataclass's
generated ``__doc__`` or a constant without an attribute docstring counts as missing. The path of each
name is the one the site documents (``docs/hooks/site.py``).
"""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path
from types import ModuleType

import griffe
import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ["sparse-drl", "stable-grad-rl", "rice-n", "map-merge", "vcr-wiki", "umbrella"]


def site_hook() -> ModuleType:
    """The docs site's hook module, loaded from its file."""
    spec = importlib.util.spec_from_file_location("docs_site_hook", ROOT / "docs" / "hooks" / "site.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


HOOK = site_hook()


def undocumented(dist: str) -> list[str]:
    """The public names of a package whose docstring is missing or blank."""
    module = importlib.import_module(dist.replace("-", "_"))
    loader = griffe.GriffeLoader(search_paths=[str(ROOT / "packages" / p / "src") for p in PACKAGES])
    missing = []
    for name in HOOK.public_names(module):
        value = getattr(module, name)
        if isinstance(value, ModuleType) and not value.__name__.startswith(module.__name__):
            docstring = value.__doc__  # umbrella's lazy attribute: another package's module
        else:
            path = HOOK.object_path(module, name)
            loader.load(path.split(".")[0])
            found = loader.modules_collection.get_member(path)
            target = found.final_target if found.is_alias else found
            docstring = target.docstring.value if target.docstring else None
        if not (docstring and docstring.strip()):
            missing.append(name)
    return missing


@pytest.mark.parametrize("dist", PACKAGES)
def test_every_public_name_has_a_docstring(dist: str) -> None:
    """Lists the public names without a docstring; fails if there is any."""
    missing = undocumented(dist)
    assert not missing, f"{dist}: {len(missing)} public names without a docstring: {', '.join(missing)}"
