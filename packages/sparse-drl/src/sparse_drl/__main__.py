"""Run the ``sparse-drl`` command line as ``python -m sparse_drl``."""

from sparse_drl.cli import main

raise SystemExit(main())
