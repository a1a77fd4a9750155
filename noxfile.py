"""Sessions of the monorepo: lint, tests (one isolated venv per package), integration, typecheck, docs, build.

``nox`` runs lint, tests, scaleout, integration, typecheck, docs and build. ``nox -t rice-n`` runs one
package's tests. uv is the venv backend where present (virtualenv otherwise). torch is pinned by
constraints.txt to the CPU build found through pip's find-links, so no session ever pulls a CUDA build.
integration, typecheck and docs share one venv (``.nox/shared``), built once per ``nox`` invocation.
"""

from __future__ import annotations

import functools
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from email.parser import Parser
from pathlib import Path
from typing import Any

import nox

ROOT = Path(__file__).parent
PACKAGES = ["sparse-drl", "stable-grad-rl", "rice-n", "map-merge", "vcr-wiki", "umbrella"]
COMPONENTS = PACKAGES[:-1]
MODULES = {p: p.replace("-", "_") for p in PACKAGES}
CONSTRAINTS = ("-c", str(ROOT / "constraints.txt"))
# What the shared venv holds beside umbrella[all] and every sibling's test extra.
SHARED_TOOLS = ("mypy>=1.11", "mkdocs>=1.6", "mkdocs-material>=9.5", "mkdocstrings[python]>=0.26", "uv")
SHARED_VENV = ROOT / ".nox" / "shared"
QUIET_MKDOCS = {"NO_MKDOCS_2_WARNING": "1"}  # mkdocs-material's banner about MkDocs 2.0

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.sessions = ["lint", "tests", "scaleout", "integration", "typecheck", "docs", "build"]
nox.options.reuse_existing_virtualenvs = False


def pip_find_links() -> str:
    """The find-links folder of pip's configuration (where the CPU torch wheel lies), or ''."""
    try:
        out = subprocess.run(
            [sys.executable, "-m", "pip", "config", "get", "global.find-links"],
            capture_output=True,
            text=True,
            check=False,
        )
    except OSError:
        return ""
    return out.stdout.strip() if out.returncode == 0 else ""


if "UV_FIND_LINKS" not in os.environ and (links := pip_find_links()):
    os.environ["UV_FIND_LINKS"] = links
# Byte-code is written lazily, by the first process that imports a module: compiling every installed
# file at install time (UV_COMPILE_BYTECODE) cost about 29 CPU-s per venv holding torch, while lazy
# writing costs about 3 CPU-s for the modules a test run really imports. PYTHONDONTWRITEBYTECODE (set on
# CI here) would make every fresh process recompile torch from source, so the sessions drop it.
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
os.environ.setdefault("TQDM_DISABLE", "1")
os.environ.setdefault("MPLBACKEND", "Agg")


def with_cpu_time(function: Callable[..., None]) -> Callable[..., None]:
    """Log the CPU seconds that a session's commands took (installs included) when it ends."""

    @functools.wraps(function)
    def session_function(session: nox.Session, *args: Any, **kwargs: Any) -> None:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        try:
            function(session, *args, **kwargs)
        finally:
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
            session.log(f"CPU time of this session's commands: {cpu:.0f} s")

    return session_function


def local(package: str, extra: str = "") -> str:
    """Local path of a package (with an extra) for session.install."""
    path = str(ROOT / "packages" / package)
    return f"{path}[{extra}]" if extra else path


def install_everything(session: nox.Session, *more: str) -> None:
    """Install umbrella[all] with every sibling from its local path, in one resolver call."""
    session.install(local("umbrella", "all"), *(local(p, "test") for p in COMPONENTS), *more, *CONSTRAINTS)


@nox.session
@with_cpu_time
def lint(session: nox.Session) -> None:
    """ruff check and format check; import-linter contracts between the packages.

    import-linter reads the sources only, so its venv holds import-linter alone and finds the packages
    through PYTHONPATH (no torch, no installs of the packages themselves).
    """
    session.install("ruff", "import-linter")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    sources = os.pathsep.join(str(ROOT / "packages" / p / "src") for p in PACKAGES)
    session.run("lint-imports", "--no-cache", str(ROOT / "pyproject.toml"), env={"PYTHONPATH": sources})


@nox.session
@nox.parametrize("package", [nox.param(p, id=p, tags=[p]) for p in PACKAGES])
@with_cpu_time
def tests(session: nox.Session, package: str) -> None:
    """One package's tests, in a venv holding only that package and its test extra (non-editable)."""
    session.install(local(package, "test"), *CONSTRAINTS)
    session.run(
        "pytest",
        "-m",
        "not scaleout",
        "--ignore-glob=*_scaleout*.py",  # Ray test modules may import ray at the top: not collected here
        str(ROOT / "packages" / package / "tests"),
        *session.posargs,
    )


@nox.session
@with_cpu_time
def scaleout(session: nox.Session) -> None:
    """Every research package with its ``ray`` extra; their Ray tests on a local Ray instance, none skipped."""
    session.install(*(local(p, "ray,test") for p in COMPONENTS), *CONSTRAINTS)
    report = Path(session.create_tmp()) / "scaleout.xml"
    # Ray keeps Unix sockets under its temp folder; nox's TMPDIR (inside .nox) makes their paths longer
    # than the 107 bytes a socket path may have, and Ray then hangs. A short folder of its own instead.
    ray_tmp = tempfile.mkdtemp(prefix="ray-", dir="/tmp" if Path("/tmp").is_dir() else None)
    session.run(
        "pytest",
        "-m",
        "scaleout",
        f"--junitxml={report}",
        *(str(ROOT / "packages" / p / "tests") for p in COMPONENTS),
        *session.posargs,
        env={"RAY_TMPDIR": ray_tmp},
    )
    shutil.rmtree(ray_tmp, ignore_errors=True)
    fail_on_skips(session, report)


def fail_on_skips(session: nox.Session, report: Path) -> None:
    """Fail the session when a junit report lists a skipped test: scale-out tests must all run."""
    import xml.etree.ElementTree as ElementTree

    skipped = [
        f"{case.get('classname')}::{case.get('name')}"
        for case in ElementTree.parse(report).iter("testcase")
        if case.find("skipped") is not None
    ]
    if skipped:
        session.error(f"{len(skipped)} scale-out tests skipped: {', '.join(skipped)}")


def process_alive(pid: int) -> bool:
    """Whether a process with this id exists."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def shared_venv(session: nox.Session) -> Path:
    """The venv of integration, typecheck and docs: umbrella[all], every sibling's test extra, the tools.

    Built once per ``nox`` invocation (a stamp holds the id of the nox process) with uv, or venv and
    pip where uv is absent; the packages are installed from their local paths, not editable.
    """
    stamp = SHARED_VENV / "nox-process"
    owner = stamp.read_text() if stamp.is_file() else ""
    if owner == str(os.getpid()):
        return SHARED_VENV
    if owner.isdigit() and process_alive(int(owner)):
        session.error(f"{SHARED_VENV} is in use by another nox (process {owner}); run one nox at a time here")
    shutil.rmtree(SHARED_VENV, ignore_errors=True)
    python = str(SHARED_VENV / "bin" / "python")
    wanted = [local("umbrella", "all"), *(local(p, "test") for p in COMPONENTS), *SHARED_TOOLS, *CONSTRAINTS]
    if uv := shutil.which("uv"):
        session.run(uv, "venv", "--quiet", "--python", sys.executable, str(SHARED_VENV), external=True)
        session.run(uv, "pip", "install", "--quiet", "--python", python, *wanted, external=True)
    else:
        session.run(sys.executable, "-m", "venv", str(SHARED_VENV), external=True)
        session.run(python, "-m", "pip", "install", "--quiet", *wanted, external=True)
    stamp.write_text(str(os.getpid()))
    return SHARED_VENV


def run_shared(session: nox.Session, command: str, *args: str, env: dict[str, str] | None = None) -> None:
    """Run a command of the shared venv (its bin folder first on PATH)."""
    venv = shared_venv(session)
    bin_folder = venv / "bin"
    path = f"{bin_folder}{os.pathsep}{os.environ.get('PATH', '')}"
    session.run(
        str(bin_folder / command),
        *args,
        external=True,
        env={"PATH": path, "VIRTUAL_ENV": str(venv), **(env or {})},
    )


@nox.session(venv_backend="none")
@with_cpu_time
def integration(session: nox.Session) -> None:
    """umbrella[all] with every sibling from local paths; runs the cross-package tests in tests/."""
    run_shared(session, "pytest", str(ROOT / "tests"), *session.posargs)


@nox.session(venv_backend="none")
@with_cpu_time
def typecheck(session: nox.Session) -> None:
    """mypy --strict over every package's src and the downstream scripts of tests/typecheck/, in one run.

    The downstream scripts use each README's quickstart as a project that depends on the packages would
    write it. One run analyses torch's and numpy's stubs once for all of them (six runs sharing a cache
    still read that cache six times); that each wheel ships its py.typed is checked by the build session.
    """
    cache = ["--cache-dir", str(Path(session.create_tmp()) / "mypy-cache")]
    sources = [str(ROOT / "packages" / package / "src") for package in PACKAGES]
    scripts = sorted(str(p) for p in (ROOT / "tests" / "typecheck").glob("*.py"))
    # --strict, but Ray is not in the shared venv (rice-n's RLlib classes subclass Any there) and an
    # ignore that one version of a stub needs is unused with another
    lenient = ("--allow-subclassing-any", "--no-warn-unused-ignores")
    run_shared(session, "mypy", "--strict", *lenient, *cache, *sources, *scripts)


@nox.session(venv_backend="none")
@with_cpu_time
def docs(session: nox.Session) -> None:
    """The MkDocs site (one section per package) built offline with --strict into site/."""
    site = str(ROOT / "site")
    run_shared(session, "mkdocs", "build", "--strict", "--site-dir", site, *session.posargs, env=QUIET_MKDOCS)


@nox.session(venv_backend="uv", default=False)
@nox.parametrize("package", [nox.param(p, id=p) for p in COMPONENTS])
@with_cpu_time
def lowest(session: nox.Session, package: str) -> None:
    """One package with its lowest declared direct dependencies (torch stays at this machine's wheel)."""
    session.install(
        "--resolution",
        "lowest-direct",
        local(package, "test"),
        *CONSTRAINTS,
    )
    session.run(
        "pytest",
        "-m",
        "not scaleout",
        "--ignore-glob=*_scaleout*.py",
        str(ROOT / "packages" / package / "tests"),
        *session.posargs,
    )


def check_metadata(dist_file: Path, package: str, version: str) -> None:
    """Fail unless a wheel's metadata names the package, its version, its license and a README, and the
    wheel ships the package's py.typed."""
    with zipfile.ZipFile(dist_file) as wheel:
        names = wheel.namelist()
        name = next(n for n in names if n.endswith(".dist-info/METADATA"))
        meta = Parser().parsestr(wheel.read(name).decode())
    problems = []
    if meta["Name"] != package:
        problems.append(f"name {meta['Name']!r}")
    if meta["Version"] != version:
        problems.append(f"version {meta['Version']!r} (expected {version!r})")
    if not (meta["License-Expression"] or meta["License"]):
        problems.append("no license")
    if meta["Description-Content-Type"] != "text/markdown" or len(meta.get_payload()) < 200:
        problems.append("no markdown README as long description")
    if f"{MODULES[package]}/py.typed" not in names:
        problems.append("no py.typed (its annotations would be invisible to type checkers)")
    if problems:
        raise RuntimeError(f"{dist_file.name}: bad metadata: {', '.join(problems)}")


def package_version(package: str) -> str:
    """The version string in a package's __init__.py."""
    init = ROOT / "packages" / package / "src" / MODULES[package] / "__init__.py"
    for line in init.read_text().splitlines():
        if line.startswith("__version__"):
            return line.split("=", 1)[1].strip().strip("\"'")
    raise RuntimeError(f"{init} has no __version__")


@nox.session
@with_cpu_time
def build(session: nox.Session) -> None:
    """sdist + wheel of every package into dist/ (the wheel built from the sdist); metadata and py.typed read
    from the wheel file; each wheel installed alone in a fresh venv, where its command answers --version."""
    session.install("build", "uv")
    dist = ROOT / "dist"
    shutil.rmtree(dist, ignore_errors=True)
    for package in PACKAGES:
        out = dist / package
        session.run("uv", "build", "--quiet", "--out-dir", str(out), local(package))
        wheels = list(out.glob("*.whl"))
        sdists = list(out.glob("*.tar.gz"))
        if len(wheels) != 1 or len(sdists) != 1:
            session.error(f"{package}: expected one wheel and one sdist in {out}")
        check_metadata(wheels[0], package, package_version(package))
        with tempfile.TemporaryDirectory() as venv:
            python = str(Path(venv) / "bin" / "python")
            session.run("uv", "venv", "--quiet", "--python", sys.executable, venv)
            session.run("uv", "pip", "install", "--quiet", "--python", python, str(wheels[0]), *CONSTRAINTS)
            # its command imports the package from the wheel alone (one process: no second import)
            said = session.run(str(Path(venv) / "bin" / package), "--version", external=True, silent=True)
            if package_version(package) not in str(said):
                session.error(f"{package} --version printed {said!r}, not {package_version(package)}")


@nox.session
@with_cpu_time
def demo(session: nox.Session) -> None:
    """The main job: install umbrella[all] from local paths and run `umbrella demo`."""
    install_everything(session)
    session.run("umbrella", "info")
    session.run("umbrella", "demo", "--out", str(ROOT / "demo-out"), *session.posargs)


@nox.session
@with_cpu_time
def bench(session: nox.Session) -> None:
    """Speed and memory benchmarks, one script per package (not part of CI)."""
    install_everything(session, "pytest-benchmark")
    scripts = sorted((ROOT / "benchmarks").glob("*.py"))
    if not scripts:
        session.skip("no benchmark scripts yet")
    for script in scripts:
        session.run("python", str(script), *session.posargs)
