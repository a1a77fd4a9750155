"""Keep the tests on one CPU thread (the CI machine has two cores shared by several suites)."""

import torch

torch.set_num_threads(1)
