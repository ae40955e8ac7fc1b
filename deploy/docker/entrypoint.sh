#!/bin/sh
# The image's entry point: `<service> <command> [options]` runs `fairline-<service> ...`,
# e.g. `exhibitors serve`, `booths migrate`, `exhibitors load-demo`.
# Any other executable (`python`, `sh`) runs as given, for debugging.
set -eu

usage() {
    echo "usage: <service> serve|migrate|rebuild <projection>|openapi|asyncapi|load-demo [options]"
    printf 'services:'
    for script in /app/.venv/bin/fairline-*; do
        [ -e "$script" ] || continue
        name=${script##*/fairline-}
        # fairline-stack and fairline-platform run the local dev stack: not services
        case "$name" in stack | platform) ;; *) printf ' %s' "$name" ;; esac
    done
    echo
}

if [ "$#" -eq 0 ] || [ "$1" = "--help" ] || [ "$1" = "-h" ]; then
    usage
    exit 0
fi

service=$1
if command -v "fairline-$service" >/dev/null 2>&1; then
    shift
    exec "fairline-$service" "$@"
fi
if command -v "$service" >/dev/null 2>&1; then
    exec "$@"
fi
echo "unknown service: $service" >&2
usage >&2
exit 64
