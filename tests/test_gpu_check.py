"""benchmarks/gpu.sh without CUDA exits 0 saying so; benchmarks/gpu.py runs its rows on a CPU at tiny sizes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_gpu_script_without_cuda_says_so_and_exits_0() -> None:
    env = {**os.environ, "PYTHON": sys.executable, "CUDA_VISIBLE_DEVICES": ""}
    completed = subprocess.run(
        ["bash", str(ROOT / "benchmarks" / "gpu.sh")], env=env, capture_output=True, text=True, check=False
    )
    assert completed.returncode == 0, completed.stderr
    assert "no CUDA GPU" in completed.stdout


def test_gpu_rows_run_on_a_cpu_at_tiny_sizes(tmp_path: Path) -> None:
    report = tmp_path / "gpu.json"
    command = [sys.executable, str(ROOT / "benchmarks" / "gpu.py"), "--device", "cpu", "--tiny"]
    command += ["--only", "rice-n", "map-merge", "--json", str(report)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    completed = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    assert completed.returncode == 0, completed.stdout[-2000:] + completed.stderr[-2000:]
    rows = json.loads(report.read_text())["rows"]
    assert [r["package"] for r in rows] == ["rice-n", "rice-n", "map-merge"]
    assert all(isinstance(r["value"], float) and r["value"] > 0 for r in rows)
    assert "GPU check on CPU" in completed.stdout
