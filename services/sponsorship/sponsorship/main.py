"""Entry point: `fairline-sponsorship serve | migrate | rebuild | openapi | asyncapi | …`."""

from __future__ import annotations

import sys

from fairline_events.cli import main

from .demo import load_demo
from .service import definition


def cli() -> None:
    sys.exit(main(definition, demo=load_demo))


if __name__ == "__main__":
    cli()
