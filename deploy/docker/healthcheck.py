"""Container health probe: GET http://127.0.0.1:<port><path>; exit 0 on HTTP 200, else 1.

`healthcheck.py <path> [port]`, the port defaulting to $HTTP_PORT. The image's HEALTHCHECK
runs it with /healthz, compose with /readyz (APIs), `/metrics 9100` (workers) and the
identity provider's JWKS path (the slim base image has no curl). Standard library only.
"""

from __future__ import annotations

import os
import sys
import urllib.request


def main(argv: list[str]) -> int:
    path = argv[1] if len(argv) > 1 else "/healthz"
    port = argv[2] if len(argv) > 2 else os.environ.get("HTTP_PORT", "8000")
    url = f"http://127.0.0.1:{port}{path}"
    try:
        with urllib.request.urlopen(url, timeout=4) as response:
            status = int(response.status)
    except (OSError, ValueError) as exc:  # HTTPError and URLError are OSErrors
        print(f"{url}: {exc}", file=sys.stderr)
        return 1
    return 0 if status == 200 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
