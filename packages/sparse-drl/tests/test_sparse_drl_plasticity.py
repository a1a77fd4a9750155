"""The non-stationary plasticity probe behind the demo."""

from __future__ import annotations

from sparse_drl.plasticity import ProbeConfig, make_mlp, run_probe


def test_probe_records_and_determinism() -> None:
    cfg = ProbeConfig(width=32, depth=2, inputs=128, phases=2, steps=30, batch=32)
    a = run_probe(cfg, 0.0, seed=3)
    b = run_probe(cfg, 0.0, seed=3)
    assert a["phases"] == b["phases"]
    assert [r["phase"] for r in a["phases"]] == [1, 2]
    for rec in a["phases"]:
        assert 0.0 <= rec["accuracy"] <= 1.0 and 0.0 <= rec["dormant"] <= 1.0 and rec["srank"] >= 1
    sparse = run_probe(cfg, 0.9, seed=3)
    assert sparse["effective_params"] < 0.2 * sparse["params"] and sparse["params"] == a["params"]


def test_make_mlp_shape() -> None:
    net = make_mlp(5, 8, 3, 2)
    assert sum(1 for m in net if m.__class__.__name__ == "Linear") == 4
