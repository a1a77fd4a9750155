"""PNG plots of a simulated trajectory (needs matplotlib: ``pip install 'rice-n[plot]'``)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from rice_n._io import write_bytes_atomic


def _pyplot() -> Any:
    os.environ.setdefault("MPLBACKEND", "Agg")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    return plt


def _save(fig: Any, path: Path) -> None:
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    write_bytes_atomic(path, buf.getvalue())


def plot_trajectory(rows: list[dict], region_rows: list[dict], out: str | Path) -> list[str]:
    """Temperature, carbon, consumption per region and mitigation plots; returns the file names written.

    Returns an empty list (and writes nothing) when matplotlib is not installed.
    """
    plt = _pyplot()
    if plt is None:
        return []
    out = Path(out)
    years = [r["year"] for r in rows]
    written = []
    specs = [
        (
            "temperature.png",
            "Temperature rise over pre-industrial (°C)",
            [("T_AT", "atmosphere"), ("T_LO", "lower ocean")],
        ),
        (
            "carbon.png",
            "Carbon mass (GtC)",
            [("M_AT", "atmosphere"), ("M_UP", "upper ocean"), ("M_LO", "lower ocean")],
        ),
    ]
    for name, title, series in specs:
        fig, ax = plt.subplots(figsize=(6, 3.5))
        for key, label in series:
            ax.plot(years, [r[key] for r in rows], label=label)
        ax.set_title(title)
        ax.set_xlabel("year")
        ax.legend()
        _save(fig, out / name)
        plt.close(fig)
        written.append(name)
    regions = sorted(
        {r["region"] for r in region_rows}, key=lambda n: [r["region"] for r in region_rows].index(n)
    )
    for name, key, title in (
        ("consumption.png", "consumption", "Consumption per region"),
        ("mitigation.png", "mitigation", "Mitigation rate per region"),
    ):
        fig, ax = plt.subplots(figsize=(7, 4))
        for region in regions:
            pts = [(r["year"], r[key]) for r in region_rows if r["region"] == region and r["t"] > 0]
            ax.plot([p[0] for p in pts], [p[1] for p in pts], lw=0.8)
        ax.set_title(title + f" ({len(regions)} regions)")
        ax.set_xlabel("year")
        _save(fig, out / name)
        plt.close(fig)
        written.append(name)
    return written
