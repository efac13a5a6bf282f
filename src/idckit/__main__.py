"""``python -m idckit``: the same command line as the ``idckit`` console script."""

from idckit.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
