"""The command line every service shares: serve, migrate, rebuild, and its contracts."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import os
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from .asyncapi import asyncapi_document
from .service import Runtime, ServiceDefinition, build_app
from .settings import ServiceSettings
from .telemetry import configure_logging

Loader = Callable[[Runtime], Awaitable[int]]


def main(
    definition: ServiceDefinition, argv: list[str] | None = None, demo: Loader | None = None
) -> int:
    parser = argparse.ArgumentParser(prog=f"fairline-{definition.name}")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the HTTP API, the relay and the projections")
    serve.add_argument("--host", default=None)
    serve.add_argument("--port", type=int, default=None)
    serve.add_argument("--no-relay", action="store_true", help="API and projections only")
    serve.add_argument("--no-projections", action="store_true", help="API and relay only")
    serve.add_argument("--workers", type=int, default=1, help="HTTP worker processes")
    sub.add_parser("migrate", help="create the database, apply migrations, create topics")
    rebuild = sub.add_parser("rebuild", help="replay a projection into a fresh schema and swap")
    rebuild.add_argument("projection", choices=[p.name for p in definition.projections])
    sub.add_parser("openapi", help="print the OpenAPI document")
    sub.add_parser("asyncapi", help="print the AsyncAPI document of the events published")
    if demo is not None:
        sub.add_parser("load-demo", help="load the demo edition (idempotent)")
    args = parser.parse_args(argv)
    settings = ServiceSettings()
    configure_logging(settings.log_level)

    if args.command == "serve":
        import uvicorn

        host, port = args.host or settings.http_host, args.port or settings.http_port
        if args.workers > 1:
            # Each worker process builds the same app; the relay and the jobs elect one
            # leader through PostgreSQL, and the projections share partitions as one group.
            os.environ["FAIRLINE_SERVE_MODULE"] = definition_module(definition)
            os.environ["FAIRLINE_SERVE_FLAGS"] = f"{int(args.no_relay)}{int(args.no_projections)}"
            uvicorn.run(
                "fairline_events.cli:app_from_environment",
                factory=True,
                workers=args.workers,
                host=host,
                port=port,
                log_config=None,
                access_log=False,
            )
            return 0
        app = build_app(
            definition, settings, relay=not args.no_relay, projections=not args.no_projections
        )
        uvicorn.run(app, host=host, port=port, log_config=None, access_log=False)
        return 0
    if args.command == "openapi":
        app = build_app(definition, settings)
        json.dump(app.openapi(), sys.stdout, ensure_ascii=False, indent=2)
        return 0
    if args.command == "asyncapi":
        json.dump(asyncapi_document(definition, settings), sys.stdout, ensure_ascii=False, indent=2)
        return 0
    return asyncio.run(_offline(definition, settings, args, demo))


def definition_module(definition: ServiceDefinition) -> str:
    return f"{definition.name}.service"


def app_from_environment() -> Any:
    """The app of one worker of `serve --workers N` (uvicorn imports it by name)."""
    definition: ServiceDefinition = importlib.import_module(
        os.environ["FAIRLINE_SERVE_MODULE"]
    ).definition
    settings = ServiceSettings()
    configure_logging(settings.log_level)
    flags = os.environ.get("FAIRLINE_SERVE_FLAGS", "00")
    return build_app(definition, settings, relay=flags[0] == "0", projections=flags[1] == "0")


async def _offline(
    definition: ServiceDefinition,
    settings: ServiceSettings,
    args: argparse.Namespace,
    demo: Loader | None,
) -> int:
    runtime = Runtime(definition, settings)
    await runtime.prepare()
    try:
        if args.command == "rebuild":
            projection = next(p for p in definition.projections if p.name == args.projection)
            count = await runtime.runner(projection).rebuild()
            print(f"{projection.name}: rebuilt from {count} records and swapped in")
        elif args.command == "load-demo" and demo is not None:
            count = await demo(runtime)
            print(f"{definition.name}: demo data loaded ({count} new events)")
        else:
            print(f"{definition.name}: database and topics are ready")
    finally:
        await runtime.stop()
    return 0
