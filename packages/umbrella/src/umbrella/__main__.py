"""Run the ``umbrella`` command line as ``python -m umbrella``."""

from umbrella.cli import main

raise SystemExit(main())
