"""umbrella alone: lazy re-exports name the pip line of a missing component."""

from __future__ import annotations

import importlib.metadata
import re

import pytest

import umbrella
from umbrella.components import COMPONENTS, get_component


def parse_requirement(requirement: str) -> tuple[str, frozenset[str], str]:
    """(name, set of version specifiers, extra) of a requirement string from the metadata."""
    spec, _, marker = requirement.partition(";")
    name, versions = re.match(r"([A-Za-z0-9_.-]+)(?:\[[^]]*\])?\s*(.*)", spec.strip()).groups()
    extra = re.search(r"extra\s*==\s*['\"]([^'\"]+)['\"]", marker)
    return (
        name,
        frozenset(v.strip() for v in versions.split(",") if v.strip()),
        extra.group(1) if extra else "",
    )


def test_five_components_with_compatible_extras() -> None:
    assert [c.dist for c in COMPONENTS] == ["sparse-drl", "stable-grad-rl", "rice-n", "map-merge", "vcr-wiki"]
    requirements = {parse_requirement(r) for r in importlib.metadata.requires("umbrella") or []}
    compatible = frozenset({">=0.1", "<0.2"})
    for component in COMPONENTS:
        assert (component.dist, compatible, component.dist) in requirements
        assert (component.dist, compatible, "all") in requirements
    assert not [r for r in requirements if not r[2]], "umbrella must have no core dependency"


def test_map_merge_extras_bring_its_demo_extra() -> None:
    """map-merge's demo needs scikit-learn: umbrella[all] and umbrella[map-merge] ask for map-merge[demo]."""
    lines = [r.replace(" ", "").replace("'", '"') for r in importlib.metadata.requires("umbrella") or []]
    for extra in ("all", "map-merge"):
        assert any(r.startswith("map-merge[demo]") and f'extra=="{extra}"' in r for r in lines), extra


def test_vcr_wiki_extras_bring_what_its_demo_uses() -> None:
    """vcr-wiki's demo builds Chinese (jieba) and scores OCR (pytesseract): both extras come along."""
    lines = [r.replace(" ", "").replace("'", '"') for r in importlib.metadata.requires("umbrella") or []]
    for extra in ("all", "vcr-wiki"):
        assert any(r.startswith("vcr-wiki[ocr,zh]") and f'extra=="{extra}"' in r for r in lines), extra


@pytest.mark.parametrize("component", COMPONENTS, ids=lambda c: c.dist)
def test_missing_component_names_its_install_line(component) -> None:
    assert component.installed_version() is None
    with pytest.raises(ImportError, match=rf'pip install "umbrella\[{component.dist}\]"'):
        getattr(umbrella, component.module)


def test_unknown_attribute_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no_such_thing"):
        umbrella.no_such_thing  # noqa: B018


def test_get_component_by_either_name_and_bad_name() -> None:
    assert get_component("rice_n") is get_component("rice-n")
    with pytest.raises(ValueError, match="'rice'"):
        get_component("rice")


def test_all_names_every_component_module() -> None:
    from umbrella.components import BY_MODULE

    assert set(BY_MODULE) <= set(umbrella.__all__)
    assert sorted(umbrella.__all__) == sorted(
        {"COMPONENTS", "Component", "__version__", "get_component", *BY_MODULE}
    )
