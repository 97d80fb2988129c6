"""``python -m mfb_cli``: the same as the ``mfb`` command."""

from .cli import main

main()
