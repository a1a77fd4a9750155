"""MkDocs hook: the pages of each package, generated at build time from the checkout.

For every package: its README as the guide (links into the monorepo rewritten to pages of the site),
an API reference of every name in the package's ``__all__`` (rendered by mkdocstrings from the
docstrings), a CLI reference printed by the package's own argparse parser, and the README's evidence,
performance and benchmark sections. Nothing is copied into ``docs/``: every page is rebuilt from the
sources on each build, so the site cannot drift from the READMEs and the code.
"""

from __future__ import annotations

import argparse
import importlib
import os
import re
from pathlib import Path
from types import ModuleType
from typing import Any

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ["sparse-drl", "stable-grad-rl", "rice-n", "map-merge", "vcr-wiki", "umbrella"]
HELP_COLUMNS = "100"
# README sections that hold measured figures: the site's "Evidence and benchmarks" page of a package.
EVIDENCE_HEADING = re.compile(r"measured|evidence|performance|benchmark|faithful|fidelity|how long", re.I)
LINK = re.compile(r"(?P<bang>!?)\[(?P<text>[^\]]*)\]\((?P<target>[^)\s]+)\)")
HEADING = re.compile(r"^## ", re.M)


def module_name(dist: str) -> str:
    """The import name of a distribution of this monorepo."""
    return dist.replace("-", "_")


def readme_text(dist: str | None) -> str:
    """A package's README (the root README for None)."""
    folder = ROOT if dist is None else ROOT / "packages" / dist
    return (folder / "README.md").read_text(encoding="utf-8")


def page_of(target: Path) -> str | None:
    """The site page of a README of this monorepo, relative to the site root, or None."""
    if target == ROOT / "README.md":
        return "index.md"
    if target.name == "README.md" and target.parent.parent == ROOT / "packages":
        return f"{target.parent.name}/index.md"
    return None


def rewrite_links(text: str, dist: str | None, images: dict[str, Path]) -> str:
    """Point the README's relative links at the site: READMEs become pages, images are published.

    A link to any other file of the checkout has no page on the site; it keeps its text and shows the
    file's path in the repository.
    """
    folder = ROOT if dist is None else ROOT / "packages" / dist
    depth = "" if dist is None else "../"

    def replace(match: re.Match[str]) -> str:
        target = match.group("target")
        if re.match(r"^[a-z]+:|^#", target):
            return match.group(0)
        path, _, anchor = target.partition("#")
        resolved = (folder / path).resolve()
        suffix = f"#{anchor}" if anchor else ""
        if match.group("bang"):
            uri = f"images/{resolved.relative_to(ROOT).as_posix()}"
            images[uri] = resolved
            return f"![{match.group('text')}]({depth}{uri})"
        if page := page_of(resolved):
            return f"[{match.group('text')}]({depth}{page}{suffix})"
        return f"{match.group('text')} (`{resolved.relative_to(ROOT).as_posix()}`)"

    return LINK.sub(replace, text)


def sections(text: str) -> list[str]:
    """The README's ``## `` sections, each with its heading."""
    parts = HEADING.split(text)
    return [f"## {part}" for part in parts[1:]]


def evidence_page(dist: str, images: dict[str, Path]) -> str | None:
    """The README sections with measured figures (headings matching EVIDENCE_HEADING), or None."""
    chosen = [
        s for s in sections(readme_text(dist)) if EVIDENCE_HEADING.search(s.splitlines()[0]) and "\n|" in s
    ]
    if not chosen:
        return None
    body = "\n\n".join(rewrite_links(s, dist, images) for s in chosen)
    intro = f"The sections of [the {dist} README](index.md) that hold measured figures and tables.\n\n"
    return f"# {dist}: evidence and benchmarks\n\n{intro}{body}"


def object_path(module: ModuleType, name: str) -> str:
    """Where a public name is defined: ``module.qualname`` for functions and classes, else the re-export.

    A package may re-export a function under the name of its own submodule (``sparse_drl.sparsify``);
    the defining path names the function, not the submodule.
    """
    value = getattr(module, name)
    if isinstance(value, ModuleType):
        return value.__name__
    defined_in, qualname = getattr(value, "__module__", None), getattr(value, "__qualname__", None)
    if isinstance(defined_in, str) and isinstance(qualname, str) and callable(value) and "<" not in qualname:
        return f"{defined_in}.{qualname}"
    return f"{module.__name__}.{name}"


def public_names(module: ModuleType) -> list[str]:
    """The names of ``__all__`` that a reader looks up (``__version__`` left out)."""
    return [name for name in getattr(module, "__all__", []) if name != "__version__"]


def api_page(dist: str) -> str:
    """mkdocstrings directives for every public name of the package, in ``__all__`` order."""
    module = importlib.import_module(module_name(dist))
    lines = [
        f"# {dist}: API reference",
        "",
        f"Every public name of `{module.__name__}` (its `__all__`), generated from the docstrings.",
        "",
    ]
    lazy = getattr(module, "BY_MODULE", {}) if dist == "umbrella" else {}
    for name in public_names(module):
        if name in lazy:
            component = lazy[name]
            lines += [
                f"## `umbrella.{name}`",
                "",
                f"The installed `{name}` module, imported on first access; see [{component.dist}]"
                f"(../{component.dist}/api.md).",
                "",
            ]
        else:
            lines += [f"::: {object_path(module, name)}", ""]
    return "\n".join(lines)


def subcommands(parser: argparse.ArgumentParser) -> list[tuple[str, argparse.ArgumentParser]]:
    """Every (name, parser) below a parser, depth first, in the order the parser lists them."""
    found: list[tuple[str, argparse.ArgumentParser]] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            seen: set[int] = set()
            for name, sub in action.choices.items():
                if id(sub) in seen:  # an alias of a subcommand already listed
                    continue
                seen.add(id(sub))
                found.append((name, sub))
                found += [(f"{name} {child}", p) for child, p in subcommands(sub)]
    return found


def cli_page(dist: str) -> str:
    """The ``--help`` of the package's command and of each subcommand, as its parser prints them."""
    cli: Any = importlib.import_module(f"{module_name(dist)}.cli")
    previous = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = HELP_COLUMNS
    try:
        parser = cli.build_parser()
        blocks = [("", parser), *subcommands(parser)]
        lines = [
            f"# {dist}: command line",
            "",
            f"Printed at build time by `{module_name(dist)}.cli.build_parser()`: the `--help` of "
            f"`{parser.prog}` and of every subcommand, defaults included.",
            "",
        ]
        for name, sub in blocks:
            lines += [
                f"## `{parser.prog}{' ' + name if name else ''}`",
                "",
                "```text",
                sub.format_help(),
                "```",
                "",
            ]
    finally:
        if previous is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = previous
    return "\n".join(lines)


def package_pages(dist: str, images: dict[str, Path]) -> dict[str, str]:
    """The generated pages of one package: file name -> markdown."""
    pages = {
        "index.md": rewrite_links(readme_text(dist), dist, images),
        "api.md": api_page(dist),
        "cli.md": cli_page(dist),
    }
    if evidence := evidence_page(dist, images):
        pages["evidence.md"] = evidence
    return pages


def on_config(config: MkDocsConfig) -> MkDocsConfig:
    """The navigation: the overview, then per package its guide, API, CLI and evidence pages."""
    nav: list[Any] = [{"Overview": "index.md"}]
    for dist in PACKAGES:
        section = [{"Guide": f"{dist}/index.md"}, {"API reference": f"{dist}/api.md"}]
        section.append({"CLI reference": f"{dist}/cli.md"})
        if evidence_page(dist, {}) is not None:
            section.append({"Evidence and benchmarks": f"{dist}/evidence.md"})
        nav.append({dist: section})
    config["nav"] = nav
    return config


def on_files(files: Files, config: MkDocsConfig) -> Files:
    """Add every generated page (and the images the READMEs show) to the site."""
    images: dict[str, Path] = {}
    files.append(File.generated(config, "index.md", content=rewrite_links(readme_text(None), None, images)))
    for dist in PACKAGES:
        for name, content in package_pages(dist, images).items():
            files.append(File.generated(config, f"{dist}/{name}", content=content))
    for uri, path in images.items():
        files.append(File.generated(config, uri, abs_src_path=str(path)))
    return files
