"""``python -m adapters`` runs the alliance-bot command line."""

from adapters.cli import main

main()
