"""Run the ``stable-grad-rl`` command line as ``python -m stable_grad_rl``."""

from stable_grad_rl.cli import main

raise SystemExit(main())
