"""Shared test setup: one torch thread (tiny networks; the CI machine has two shared cores)."""

import os

import torch

torch.set_num_threads(1)
os.environ.setdefault("TQDM_DISABLE", "1")
