"""Run the ``rice-n`` command line as ``python -m rice_n``."""

from rice_n.cli import main

raise SystemExit(main())
