"""``vcr-wiki build --engine ray``: byte-identical shards and manifest to the local build; resumes alike."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from vcr_wiki.builder.builder import build_dataset
from vcr_wiki.builder.sample import BuildConfig
from vcr_wiki.cli import main
from vcr_wiki.demo.sample_data import write_sample_pairs

pytestmark = pytest.mark.scaleout


def _tree(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_ray_build_is_byte_identical_and_resumes(ray_session, tmp_path: Path) -> None:
    pairs = write_sample_pairs(tmp_path / "in", "en", limit=10)
    with (tmp_path / "in" / "pairs.jsonl").open("a") as fh:
        fh.write('{"image": "images/missing.png", "caption": "a caption whose image is missing"}\n')
    config = BuildConfig(difficulty="hard", seed=3, shard_size=3, nlp="regex")
    build_dataset(pairs, tmp_path / "local", config, progress=False)
    m = build_dataset(pairs, tmp_path / "ray", config, engine="ray", progress=False)
    assert m["complete"] and m["n_shards"] == 4 and m["dropped"] == {"bad_image": 1}
    assert _tree(tmp_path / "ray") == _tree(tmp_path / "local")
    # a partial Ray build (shards 0:2) resumed by Ray gives the same dataset again
    part = tmp_path / "part"
    assert not build_dataset(pairs, part, config, engine="ray", shards="0:2", progress=False)["complete"]
    rc = main(["build", "--input", str(pairs), "--out", str(part), "--difficulty", "hard", "--seed", "3",
               "--shard-size", "3", "--nlp", "regex", "--engine", "ray", "--resume", "--no-progress"])  # fmt: skip
    assert rc == 0 and _tree(part) == _tree(tmp_path / "local")


def _descendants(pid: int) -> set[int]:
    """``pid`` and every process below it (Linux /proc)."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    found, grew = {pid}, True
    while grew:
        more = {child for child, parent in parents.items() if parent in found} - found
        found |= more
        grew = bool(more)
    return found


def _listening_addresses(pids: set[int]) -> list[str]:
    """Local addresses (hex, as in /proc/net/tcp*) of the TCP sockets in LISTEN state held by ``pids``."""
    inodes = set()
    for pid in pids:
        for fd in Path(f"/proc/{pid}/fd").glob("*"):
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    addresses = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            cols = line.split()
            if cols[3] == "0A" and cols[9] in inodes:  # 0A: LISTEN
                addresses.append(cols[1].split(":")[0])
    return addresses


LOOPBACK_HEX = {"0100007F", "0000000000000000FFFF00000100007F", "00000000000000000000000001000000"}


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="reads Linux /proc")
def test_the_ray_instance_listens_on_loopback_only(ray_session) -> None:
    """Ray's node address and every port its processes listen on are 127.0.0.1 (not the network's)."""
    assert {node["NodeManagerAddress"] for node in ray_session.nodes()} == {"127.0.0.1"}
    listening = _listening_addresses(_descendants(os.getpid()))
    assert listening and set(listening) <= LOOPBACK_HEX, listening
