"""README install blocks: resolved by uv (a dry run) or installed exactly as written in a fresh venv.

An install block is a block of a README whose every command line is ``pip install ...`` (comments and
``apt-get install`` lines of system packages aside; .ci/run installs those). Each ``pip install`` line
runs as ``uv pip install`` with the same arguments, in the block's order, from the root of the checkout,
with ``constraints.txt`` so that torch is this machine's CPU wheel (found through UV_FIND_LINKS or pip's
find-links); ``--index-url`` of PyTorch's CPU index is dropped for that reason. ``resolve_block`` asks uv
what the block's lines install together (``--dry-run`` into an empty venv: a resolution, no venv of its
own); ``install_block`` installs them for real into a fresh venv.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from readme_blocks import ROOT, Block

TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"
SYSTEM_INSTALL = ("apt-get install", "sudo apt-get install")


def command_lines(block: Block) -> list[str]:
    """The block's commands: continuation lines joined, comments and blank lines left out."""
    joined = block.code.replace("\\\n", " ")
    lines = []
    for line in joined.splitlines():
        words = shlex.split(line, comments=True)
        if words:
            lines.append(shlex.join(words))
    return lines


def pip_installs(block: Block) -> list[list[str]] | None:
    """The arguments of each ``pip install`` line, or None when the block is not an install block."""
    installs = []
    for line in command_lines(block):
        if line.startswith(SYSTEM_INSTALL):
            continue
        words = shlex.split(line)
        if words[:2] != ["pip", "install"] or any(w in ("&&", "||", ";", "|") for w in words):
            return None
        installs.append(words[2:])
    return installs or None


def uv_arguments(arguments: list[str]) -> list[str]:
    """A ``pip install`` line's arguments for uv: PyTorch's CPU index dropped (the CPU wheel is local)."""
    kept: list[str] = []
    skip_next = False
    for index, word in enumerate(arguments):
        if skip_next:
            skip_next = False
            continue
        if word == "--index-url" and arguments[index + 1 : index + 2] == [TORCH_CPU_INDEX]:
            skip_next = True
            continue
        kept.append(word)
    return kept


def find_links() -> dict[str, str]:
    """UV_FIND_LINKS for uv: the environment's, else pip's configured find-links folder (this venv's
    pip, or the first pip on PATH: a uv venv has none)."""
    if os.environ.get("UV_FIND_LINKS"):
        return {}
    pips = [[sys.executable, "-m", "pip"], *([p] for p in (shutil.which("pip3"), shutil.which("pip")) if p)]
    for pip in pips:
        completed = subprocess.run(
            [*pip, "config", "get", "global.find-links"], capture_output=True, text=True, check=False
        )
        if completed.returncode == 0 and completed.stdout.strip():
            return {"UV_FIND_LINKS": completed.stdout.strip()}
    return {}


def uv() -> str:
    """The uv executable (installed beside this interpreter, or on PATH)."""
    beside = Path(sys.executable).parent / "uv"
    found = str(beside) if beside.exists() else shutil.which("uv")
    assert found, "uv is needed to install README blocks (pip install uv)"
    return found


def venv_environment(venv: Path) -> dict[str, str]:
    """The environment of a command run in the venv: its bin first on PATH, byte-code written lazily."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPATH")}
    env.update(
        PATH=f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}",
        VIRTUAL_ENV=str(venv),
        MPLBACKEND="Agg",
        TQDM_DISABLE="1",
        OMP_NUM_THREADS="1",
    )
    return env


def install_block(block: Block, venv: Path) -> list[str]:
    """Create a fresh venv and run the block's pip lines in it; return the lines as run."""
    installs = pip_installs(block)
    assert installs, f"{block.readme}:{block.line} is not an install block"
    env = {**os.environ, **find_links()}
    subprocess.run([uv(), "venv", "--quiet", "--python", sys.executable, str(venv)], check=True, env=env)
    ran = []
    for arguments in installs:
        command = [uv(), "pip", "install", "--quiet", "--python", str(venv / "bin" / "python")]
        command += [*uv_arguments(arguments), "-c", str(ROOT / "constraints.txt")]
        completed = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
        assert completed.returncode == 0, f"{shlex.join(['pip', 'install', *arguments])}:\n{completed.stderr}"
        ran.append(shlex.join(["pip", "install", *arguments]))
    torch = [p.name for p in venv.glob("lib/python*/site-packages/torch-*.dist-info")]
    assert all("+cpu" in name for name in torch), f"not the CPU build of torch: {torch} (set UV_FIND_LINKS)"
    return ran


DRY_RUN_LINE = re.compile(r"^\s*\+\s+(?P<name>[A-Za-z0-9._-]+)(?:\[[^\]]*\])?\s*(?:==|@)\s*(?P<version>\S+)")


def normalized(name: str) -> str:
    """A distribution name as uv prints it (PEP 503: lower case, runs of '-', '_', '.' as one '-')."""
    return re.sub(r"[-_.]+", "-", name).lower()


def block_requirements(block: Block) -> list[str]:
    """Every requirement of the block's ``pip install`` lines, in order (uv's form: see uv_arguments)."""
    installs = pip_installs(block)
    assert installs, f"{block.readme}:{block.line} is not an install block"
    return [word for arguments in installs for word in uv_arguments(arguments)]


def resolve_block(block: Block, empty_venv: Path) -> dict[str, str]:
    """What the block's lines install together into a fresh venv, by name: version (``file://...`` for a
    local path), from ``uv pip install --dry-run`` into an empty venv (nothing is installed)."""
    command = [uv(), "pip", "install", "--dry-run", "--python", str(empty_venv / "bin" / "python")]
    command += [*block_requirements(block), "-c", str(ROOT / "constraints.txt")]
    env = {**os.environ, **find_links()}
    # uv's cache first (the session's installs have just filled it; an online resolution costs about
    # 2 CPU-s more, mostly revalidating index pages), the index only where the cache lacks something.
    completed = subprocess.run(
        [*command, "--offline"], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    if completed.returncode != 0:
        completed = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, f"{block.readme}:{block.line} does not resolve:\n{output}"
    resolved = {}
    for line in output.splitlines():
        if match := DRY_RUN_LINE.match(line):
            resolved[normalized(match.group("name"))] = match.group("version")
    assert resolved, f"{block.readme}:{block.line}: uv's dry run listed nothing:\n{output}"
    return resolved


def installed_set(venv: Path) -> dict[str, str]:
    """What a venv holds, by name: version (``file://...`` for a local path), as uv lists it."""
    command = [uv(), "pip", "freeze", "--python", str(venv / "bin" / "python")]
    completed = subprocess.run(command, capture_output=True, text=True, check=True)
    held = {}
    for line in completed.stdout.splitlines():
        name, _, version = line.partition("==") if "==" in line else line.partition(" @ ")
        if version:
            held[normalized(name.strip())] = version.strip()
    return held
