"""``python -m calfsync.cli``: the command line."""

from . import main

main()
