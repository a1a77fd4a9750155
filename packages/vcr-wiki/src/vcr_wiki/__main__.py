"""Run the ``vcr-wiki`` command line as ``python -m vcr_wiki``."""

from vcr_wiki.cli import main

raise SystemExit(main())
