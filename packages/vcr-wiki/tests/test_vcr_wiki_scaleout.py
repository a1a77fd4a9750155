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


def test_the_ray_instance_listens_on_loopback_only(ray_session) -> None:
    """Ray's node address and every port its processes listen on are 127.0.0.1 (not the network's)."""
    import psutil

    assert {node["NodeManagerAddress"] for node in ray_session.nodes()} == {"127.0.0.1"}
    ours = {p.pid for p in psutil.Process().children(recursive=True)} | {os.getpid()}
    listening = [
        c.laddr.ip for c in psutil.net_connections("tcp") if c.status == psutil.CONN_LISTEN and c.pid in ours
    ]
    assert listening and set(listening) <= {"127.0.0.1", "::ffff:127.0.0.1", "::1"}, listening
