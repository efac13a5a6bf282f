"""The ``idckit`` command line: ``idckit <command> ...``.

Each subcommand lives in its own module (``_index.py``, ``_train.py``, ...) exposing
``add_parser(subparsers)`` and ``run(args) -> int``; :data:`_main.SUBCOMMANDS` lists them.
"""

from idckit.cli._main import main

__all__ = ["main"]
