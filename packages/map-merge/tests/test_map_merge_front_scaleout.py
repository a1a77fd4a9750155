"""`map-merge front --engine ray`: Ray actors evaluate each round; front.json is byte-identical to local."""

from __future__ import annotations

import pytest

from map_merge.cli import main

pytestmark = pytest.mark.scaleout


def test_ray_front_equals_the_local_front(tiny_run, tmp_path, ray_session) -> None:
    assert main(["front", str(tiny_run), "--out", str(tmp_path / "local")]) == 0
    assert (
        main(["front", str(tiny_run), "--out", str(tmp_path / "ray"), "--engine", "ray", "--workers", "2"])
        == 0
    )
    for name in ("front.json", "evaluations.jsonl"):
        assert (tmp_path / "ray" / name).read_bytes() == (tmp_path / "local" / name).read_bytes()


def test_the_ray_node_is_on_the_loopback_address(ray_session) -> None:
    """The tests' Ray instance uses 127.0.0.1 as its node address (Ray would otherwise take the
    machine's network address and listen on every interface)."""
    nodes = ray_session.nodes()
    assert {node["NodeManagerAddress"] for node in nodes} == {"127.0.0.1"}
