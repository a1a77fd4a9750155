#!/usr/bin/env bash
# The prepared GPU check (issue 23): on a machine with one CUDA GPU, prints one table in well under
# 8 minutes (benchmarks/gpu.py: rice-n torch batch env, sparse-drl SAC, stable-grad-rl PQN, map-merge
# re-merge at 134M, vcr-wiki evaluation of a tiny local LLaVA). Without CUDA it says so and exits 0.
#
# Run from any folder, with a Python whose environment holds the packages and a CUDA build of torch:
#   pip install "./packages/umbrella[all]" ./packages/sparse-drl ./packages/stable-grad-rl \
#       ./packages/rice-n ./packages/map-merge "./packages/vcr-wiki[eval]"
#   PYTHON=.venv/bin/python bash benchmarks/gpu.sh [--json gpu.json]
# The same code on a CPU with tiny sizes (what CI-less checks can run): python benchmarks/gpu.py --device cpu --tiny
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
if ! "$python" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
  echo "gpu.sh: no CUDA GPU visible to torch in $python (or no torch): nothing to measure, exiting 0"
  exit 0
fi
"$python" -c 'import torch; print("gpu.sh:", torch.cuda.get_device_name(0), "| torch", torch.__version__)'
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-4} TQDM_DISABLE=1 MPLBACKEND=Agg
exec timeout 460 "$python" benchmarks/gpu.py --device cuda "$@"
