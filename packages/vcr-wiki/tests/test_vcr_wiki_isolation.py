"""vcr-wiki is tested alone: a sibling it does not declare must not be importable here."""

from __future__ import annotations

import importlib
import importlib.metadata
import re

import pytest

SIBLINGS = {
    "sparse-drl": "sparse_drl",
    "stable-grad-rl": "stable_grad_rl",
    "rice-n": "rice_n",
    "map-merge": "map_merge",
    "vcr-wiki": "vcr_wiki",
    "umbrella": "umbrella",
}
OWN = "vcr-wiki"


def declared_distributions() -> set[str]:
    """Names of the distributions that vcr-wiki requires (core and extras)."""
    requirements = importlib.metadata.requires(OWN) or []
    return {re.split(r"[\s\[<>=!~;(]", req, maxsplit=1)[0].lower() for req in requirements}


def test_installed_version_matches_package() -> None:
    module = importlib.import_module(SIBLINGS[OWN])
    assert module.__version__ == importlib.metadata.version(OWN)


@pytest.mark.parametrize("sibling", sorted(set(SIBLINGS) - {OWN}))
def test_undeclared_sibling_is_not_importable(sibling: str) -> None:
    assert sibling not in declared_distributions(), f"{OWN} should not declare {sibling}"
    with pytest.raises(ImportError):
        importlib.import_module(SIBLINGS[sibling])


def test_builder_subpackage_has_its_new_name_only() -> None:
    """`vcr_wiki.builder` is the builder; the old path `vcr_wiki.build` (read as build output) is gone."""
    assert importlib.import_module("vcr_wiki.builder").build_dataset is not None
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module("vcr_wiki.build")
