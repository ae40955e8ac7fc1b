"""Container health probe: GET http://127.0.0.1:$HTTP_PORT<path>; exit 0 on HTTP 200, else 1.

The image's HEALTHCHECK runs it with /healthz and compose with /readyz (the slim base image
has no curl). Standard library only.
"""

from __future__ import annotations

import os
import sys
import urllib.request


def main(argv: list[str]) -> int:
    path = argv[1] if len(argv) > 1 else "/healthz"
    url = f"http://127.0.0.1:{os.environ.get('HTTP_PORT', '8000')}{path}"
    try:
        with urllib.request.urlopen(url, timeout=4) as response:
            status = int(response.status)
    except (OSError, ValueError) as exc:  # HTTPError and URLError are OSErrors
        print(f"{url}: {exc}", file=sys.stderr)
        return 1
    return 0 if status == 200 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
