"""Every install block of every README installs what it names, and umbrella's block gives working commands.

Each block is resolved by uv as written (``uv pip install --dry-run`` of its lines into an empty venv, see
venvs.py): it must resolve, hold every distribution and extra its lines name (a local path at this
checkout, torch as this machine's CPU build), and blocks that resolve to the same set share one venv.
Only umbrella's block (whose set the root README's full line repeats) is installed for real, once, in a
fresh venv (``conftest.umbrella_venv``): that venv must hold exactly its resolved set, and each of the six
commands answers ``--version`` there (one process for all six); ``test_demo_figures.py`` runs the whole
``umbrella demo`` in it. Each package installed alone (its wheel in a fresh venv, its command's
``--version``) is the build session's check.
"""

from __future__ import annotations

import importlib.metadata
import json
import re
import subprocess
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from readme_blocks import ALL_BLOCKS, ROOT, Block, readme_id
from venvs import block_requirements, installed_set, normalized, pip_installs, resolve_block, venv_environment

DISTS = ["sparse-drl", "stable-grad-rl", "rice-n", "map-merge", "vcr-wiki", "umbrella"]
INSTALL_BLOCKS = [b for b in ALL_BLOCKS if pip_installs(b)]
LOCAL = re.compile(r"^\./packages/(?P<dist>[\w-]+)(?:\[(?P<extras>[\w,-]+)\])?$")
# One process runs every console script of the venv with --version and reports what each printed.
VERSIONS_PROBE = """
import contextlib, io, json, sys
from importlib.metadata import entry_points

report = {}
for name in sys.argv[1:]:
    (point,) = entry_points(group="console_scripts", name=name)
    out = io.StringIO()
    sys.argv = [name, "--version"]
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        try:
            code = point.load()()
        except SystemExit as stop:
            code = stop.code
    report[name] = {"code": code or 0, "output": out.getvalue()}
print(json.dumps(report))
"""


def block_id(block: Block) -> str:
    """README and line of a block, as its test id."""
    return f"{readme_id(block.readme)}:{block.line}"


@pytest.fixture(scope="session")
def empty_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh, empty venv: the target of every dry run."""
    from venvs import uv

    venv = tmp_path_factory.mktemp("empty") / "venv"
    subprocess.run([uv(), "venv", "--quiet", str(venv)], check=True)
    return venv


@pytest.fixture(scope="session")
def resolved(empty_venv: Path) -> dict[str, dict[str, str]]:
    """Each install block's resolved set (name: version), by block id."""
    return {block_id(b): resolve_block(b, empty_venv) for b in INSTALL_BLOCKS}


def named(requirement: str) -> dict[str, str]:
    """What one requirement of a pip line names, by name: a local path gives its distribution (at this
    checkout) and every requirement of the extras it asks for; any other requirement gives its name."""
    if requirement.startswith("-"):
        return {}  # an option of the pip line (uv takes it as written), not a requirement
    local = LOCAL.match(requirement)
    if not local:
        return {normalized(Requirement(requirement).name): ""}
    dist = local.group("dist")
    wanted = {dist: (ROOT / "packages" / dist).as_uri()}
    for extra in filter(None, (local.group("extras") or "").split(",")):
        declared = [Requirement(r) for r in importlib.metadata.requires(dist) or []]
        in_extra = [r for r in declared if r.marker and r.marker.evaluate({"extra": extra})]
        assert in_extra, f"{requirement}: {dist} declares no extra {extra!r}"
        wanted.update({normalized(r.name): "" for r in in_extra})
    return wanted


def test_the_readmes_have_install_blocks() -> None:
    """Each package README keeps an install block (umbrella's, installed for real, included)."""
    with_blocks = {readme_id(b.readme) for b in INSTALL_BLOCKS}
    assert set(DISTS) <= with_blocks, f"README without an install block: {set(DISTS) - with_blocks}"


@pytest.mark.parametrize("block", INSTALL_BLOCKS, ids=block_id)
def test_install_block_resolves_to_what_it_names(block: Block, resolved: dict) -> None:
    """The block's lines resolve together; each named distribution and extra is in the set, local paths
    from this checkout, torch as this machine's CPU build."""
    got = resolved[block_id(block)]
    for requirement in block_requirements(block):
        for name, source in named(requirement).items():
            assert name in got, f"{block_id(block)}: {requirement} does not install {name}"
            assert not source or got[name] == source, f"{name} from {got[name]}, not {source}"
    if "torch" in got:
        assert got["torch"].endswith("+cpu"), (
            f"not the CPU build of torch: {got['torch']} (set UV_FIND_LINKS)"
        )


def test_blocks_of_one_resolved_set_share_the_installed_venv(
    resolved: dict, umbrella_venv: tuple[Path, Block]
) -> None:
    """umbrella's fresh venv holds exactly its block's resolved set; every block that resolves to the same
    set (the root README's full line) is covered by it, and at least that one does."""
    venv, block = umbrella_venv
    wanted = resolved[block_id(block)]
    held = installed_set(venv)
    assert held == wanted, {
        k: (held.get(k), wanted.get(k)) for k in set(held) | set(wanted) if held.get(k) != wanted.get(k)
    }
    sharing = [key for key, got in resolved.items() if got == wanted]
    assert len(sharing) >= 2, f"only {sharing} resolve to umbrella's set"


def test_umbrella_venv_commands_answer_version(umbrella_venv: tuple[Path, Block]) -> None:
    """Each of the six commands is installed as a script and answers --version with its package's version
    (all six in one process)."""
    venv, _ = umbrella_venv
    assert all((venv / "bin" / d).exists() for d in DISTS), [
        d for d in DISTS if not (venv / "bin" / d).exists()
    ]
    command = [str(venv / "bin" / "python"), "-c", VERSIONS_PROBE, *DISTS]
    completed = subprocess.run(
        command, env=venv_environment(venv), capture_output=True, text=True, check=False
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    report = json.loads(completed.stdout.splitlines()[-1])
    for dist in DISTS:
        assert report[dist]["code"] == 0, f"{dist} --version: {report[dist]}"
        assert importlib.metadata.version(dist) in report[dist]["output"], f"{dist}: {report[dist]}"
