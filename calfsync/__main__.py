"""``python -m calfsync``: the command line."""

from .cli import main

main()
