"""Each service's OpenAPI document from one checkout, for an A/B between two checkouts: a
change to how routes are written must leave what clients see as it was.

`<checkout>/.venv/bin/python bench/ab_openapi.py <checkout> <directory>` writes
`<directory>/<service>.json` for the six services, the bytes they serve at `/openapi.json`
(built, not started), one key a line so that `diff -r` of two directories reads. Not part of
`make bench`.
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

root = sys.argv[1]
sys.path[0] = root  # not bench/: its modules would shadow the services' (forums)

from fairline_events.service import build_app  # noqa: E402
from fairline_events.settings import ServiceSettings  # noqa: E402
from starlette.responses import JSONResponse  # noqa: E402

SERVICES = ("exhibitors", "booths", "hotels", "forums", "sponsorship", "tickets")


def main() -> None:
    out = Path(sys.argv[2])
    out.mkdir(parents=True, exist_ok=True)
    settings = ServiceSettings(fairline_auth_secret="x" * 40)
    for name in SERVICES:
        definition = importlib.import_module(f"{name}.service").definition
        document = build_app(definition, settings).openapi()
        served = bytes(JSONResponse(document).body)  # what `/openapi.json` answers, byte for byte
        text = json.dumps(json.loads(served), indent=1, ensure_ascii=False)
        (out / f"{name}.json").write_text(text + "\n")
        print(name, len(document["paths"]), "paths")


if __name__ == "__main__":
    main()
