"""``python -m idckit``: the same command line as the ``idckit`` console script."""

from idckit.cli import main

raise SystemExit(main())
