"""Run the ``map-merge`` command line as ``python -m map_merge``."""

from map_merge.cli import main

raise SystemExit(main())
