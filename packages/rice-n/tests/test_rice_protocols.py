"""Protocols as first-class objects: the registry, saved specs, training, evaluation and resume."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import rice_n
from rice_n.protocols import parse_protocol_option


def test_registry_lists_every_shipped_protocol() -> None:
    assert {"none", "bilateral", "climate-club"} <= set(rice_n.PROTOCOLS)
    for cls in (rice_n.NoNegotiation, rice_n.Bilateral, rice_n.ClimateClub):
        assert rice_n.PROTOCOLS[cls.name] is cls


def test_spec_round_trip_and_cli_parameters() -> None:
    club = rice_n.ClimateClub(members=[0, 1, 5], min_mitigation=0.6, tariff=0.2)
    spec = rice_n.protocol_spec(club)
    assert spec == {
        "name": "climate-club",
        "params": {"members": [0, 1, 5], "min_mitigation": 0.6, "tariff": 0.2},
    }
    assert rice_n.resolve_protocol(json.loads(json.dumps(spec))) == club
    assert rice_n.protocol_spec(rice_n.Bilateral()) == "bilateral"
    parsed = parse_protocol_option("climate-club", ["members=0,1,5", "min_mitigation=0.6", "tariff=0.2"])
    assert parsed == club


def test_unsaveable_protocol_is_a_clear_error() -> None:
    class Floor(rice_n.Protocol):
        name = "floor-unregistered"

    with pytest.raises(rice_n.ProtocolError, match="register_protocol"):
        rice_n.protocol_spec(Floor())
    with pytest.raises(rice_n.ProtocolError, match="already registered"):

        class Clash(rice_n.Protocol):
            name = "bilateral"

        rice_n.register_protocol(Clash)


torch = pytest.importorskip("torch")
pytest.importorskip("safetensors")

TINY = {"hidden": (8,), "num_envs": 2, "epochs": 1, "minibatches": 1}


def test_climate_club_trains_evaluates_and_resumes(tmp_path: Path) -> None:
    from rice_n.train import preset, train

    club = rice_n.ClimateClub(members=[0, 1, 5], min_mitigation=0.5, tariff=0.3)
    cfg = preset("ppo", episodes=4, protocol=club, seed=1, **TINY)
    train(cfg, tmp_path / "run", progress=False, stop_after=1, checkpoint_every=1)
    saved = json.loads((tmp_path / "run" / "config.json").read_text())
    assert saved["config"]["protocol"]["name"] == "climate-club"
    res = train(cfg, tmp_path / "run", resume=True, progress=False)
    assert res.history[-1]["episodes"] == 4
    ev = rice_n.evaluate_policy(tmp_path / "run", episodes=2, seed=0)
    assert ev.config["protocol"] == saved["config"]["protocol"]
    # members never mitigate below the club's floor
    assert min(ev.region_mitigation[t][m] for t in range(1, 21) for m in (0, 1, 5)) >= 0.5


def test_registered_custom_protocol_trains_and_unregistered_is_refused(tmp_path: Path) -> None:
    from rice_n.train import preset, train

    class CarbonFloor(rice_n.Protocol):
        name = "test-carbon-floor"

        def __init__(self, floor: float = 0.2) -> None:
            self.floor = floor

        def params(self) -> dict:
            return {"floor": self.floor}

        def mitigation_floor(self, ops, pstate, state):
            return ops.zeros(state.K.shape) + self.floor

    with pytest.raises(rice_n.ProtocolError, match="cannot be saved"):
        train(preset("ppo", episodes=2, protocol=CarbonFloor(), **TINY), tmp_path / "a", progress=False)
    assert not (tmp_path / "a").exists()
    rice_n.register_protocol(CarbonFloor)
    try:
        train(preset("ppo", episodes=2, protocol=CarbonFloor(0.3), **TINY), tmp_path / "b", progress=False)
        ev = rice_n.evaluate_policy(tmp_path / "b", episodes=1)
        assert ev.config["protocol"] == {"name": "test-carbon-floor", "params": {"floor": 0.3}}
    finally:
        del rice_n.PROTOCOLS["test-carbon-floor"]
