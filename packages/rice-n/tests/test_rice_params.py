"""Loading the shipped calibration and clear errors on bad region tables."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from rice_n import ParamsError, default_params, load_params
from rice_n.params import default_regions_path


def test_shipped_calibration() -> None:
    p = default_params()
    assert p.n_regions == 27 and p.start_year == 2015 and p.end_year == 2115 and p.n_steps == 20
    assert p.A_0[0] == pytest.approx(1.8724419952820714) and p.K_0[20] == pytest.approx(16.295084052817813)
    np.testing.assert_allclose(p.theta_2, 2.6)
    np.testing.assert_allclose(p.phi_M[2], [0, 0.007, 0.99853488])
    assert p.for_pref[0, 1] == pytest.approx(0.5 / 26) and p.for_pref[3, 3] == 0


def rows() -> list[dict]:
    with default_regions_path().open() as handle:
        return list(csv.DictReader(handle))


def write_csv(path: Path, data: list[dict]) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(data[0]))
        writer.writeheader()
        writer.writerows(data)
    return path


def test_user_table_csv_and_yaml(tmp_path: Path) -> None:
    data = rows()[:3]
    p = load_params(write_csv(tmp_path / "r.csv", data))
    assert p.n_regions == 3 and p.for_pref[0, 1] == pytest.approx(0.25)
    yml = tmp_path / "r.yml"
    yml.write_text(
        "east: {" + ", ".join(f"{k}: {v}" for k, v in data[0].items() if k != "upstream_file") + "}\n"
        "west: {" + ", ".join(f"{k}: {v}" for k, v in data[1].items() if k != "upstream_file") + "}\n"
    )
    q = load_params(yml)
    assert q.region_names == ("east", "west") and q.K_0[1] == pytest.approx(float(data[1]["K_0"]))


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("L_0", "-5", "L_0 of region .* must be positive"),
        ("K_0", "nan", "not finite"),
        ("A_0", "", "missing value for 'A_0'"),
        ("gamma", "1.5", "gamma .* must lie in"),
        ("sigma_0", "abc", "not a number"),
    ],
)
def test_bad_region_values(tmp_path: Path, column: str, value: str, message: str) -> None:
    data = rows()
    data[4][column] = value
    with pytest.raises(ParamsError, match=message):
        load_params(write_csv(tmp_path / "bad.csv", data))


def test_bad_shapes_and_files(tmp_path: Path) -> None:
    with pytest.raises(ParamsError, match=r"for_pref must be an \(N, N\) = \(27, 27\)"):
        load_params(for_pref=np.ones((26, 26)))
    with pytest.raises(ParamsError, match="phi_M must have shape"):
        load_params(phi_M=np.eye(2))
    with pytest.raises(ParamsError, match="does not exist"):
        load_params(tmp_path / "missing.csv")
    with pytest.raises(ParamsError, match="at least 2"):
        load_params(write_csv(tmp_path / "one.csv", rows()[:1]))
    with pytest.raises(ParamsError, match="unknown format"):
        (tmp_path / "r.txt").write_text("x")
        load_params(tmp_path / "r.txt")
    with pytest.raises(ParamsError, match="one value per region"):
        default_params().replace(K_0=np.ones(5))
