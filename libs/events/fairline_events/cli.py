"""The command line every service shares: serve, migrate, rebuild, and its contracts."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from .asyncapi import asyncapi_document
from .heap import WORKING, settle_heap
from .service import Runtime, ServiceDefinition, build_app
from .settings import ServiceSettings
from .telemetry import configure_logging, configure_tracing

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
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        help="HTTP worker processes; with more than one, the relay, projections and jobs run"
        " in a process of their own (as `work` does)",
    )
    work = sub.add_parser("work", help="run the relay, the projections and the jobs, no HTTP")
    work.add_argument("--no-relay", action="store_true", help="projections and jobs only")
    work.add_argument("--no-projections", action="store_true", help="relay and jobs only")
    sub.add_parser("migrate", help="create the database, apply migrations, create topics")
    rebuild = sub.add_parser("rebuild", help="replay a projection into a fresh schema and swap")
    rebuild.add_argument("projection", choices=[p.name for p in definition.projections])
    grant = sub.add_parser(
        "grant-kafka",
        help="as the Kafka admin: create the service's SCRAM user and its ACLs (or, with"
        " --reader, a principal that only reads the given topics)",
    )
    grant.add_argument("--user", help="the principal (default: the service's name)")
    grant.add_argument(
        "--reader",
        metavar="TOPIC",
        action="append",
        default=[],
        help="make --user a reader of TOPIC (without the prefix) only; repeatable",
    )
    grant.add_argument(
        "--password-env",
        default="KAFKA_GRANTED_PASSWORD",
        help="the variable holding the new principal's password (never on the command line)",
    )
    grant.add_argument("--print", action="store_true", help="only print the ACLs, change nothing")
    sub.add_parser("openapi", help="print the OpenAPI document")
    sub.add_parser("asyncapi", help="print the AsyncAPI document of the events published")
    if demo is not None:
        sub.add_parser("load-demo", help="load the demo edition (idempotent)")
    args = parser.parse_args(argv)
    settings = ServiceSettings()
    if args.command == "serve":
        settings = serving(settings)
    configure_logging(settings.log_level)

    if args.command == "serve":
        import uvicorn

        served: dict[str, Any] = {
            "host": args.host or settings.http_host,
            "port": args.port or settings.http_port,
            "log_config": None,
            "access_log": False,
            "timeout_keep_alive": settings.http_keep_alive_seconds,
            # SIGTERM: uvicorn stops accepting, answers every request it has begun, and only
            # then runs the app's shutdown (the pool closes after the last answer).
            "timeout_graceful_shutdown": settings.http_graceful_shutdown_seconds,
        }
        if args.workers > 1:
            # The HTTP workers only take commands and queries; one process of its own relays,
            # projects and runs the jobs, so the workers do not compete for partitions and
            # the request path keeps its core.
            background = None
            if not (args.no_relay and args.no_projections):
                command = [sys.executable, "-m", f"{definition.name}.main", "work"]
                command += ["--no-relay"] if args.no_relay else []
                command += ["--no-projections"] if args.no_projections else []
                background = subprocess.Popen(command)
            os.environ["FAIRLINE_SERVE_MODULE"] = definition_module(definition)
            try:
                uvicorn.run(
                    "fairline_events.cli:app_from_environment",
                    factory=True,
                    workers=args.workers,
                    # A worker starts its runtime (pool, migrations, topics) before it
                    # answers uvicorn's health check; on a busy box that takes over the 5 s
                    # default, and uvicorn killed every worker before it served.
                    timeout_worker_healthcheck=120,
                    **served,
                )
            finally:
                if background is not None:
                    background.send_signal(signal.SIGTERM)
                    try:
                        background.wait(30)
                    except subprocess.TimeoutExpired:
                        background.kill()
            return 0
        app = build_app(
            definition, settings, relay=not args.no_relay, projections=not args.no_projections
        )
        settle_heap()
        uvicorn.run(app, **served)
        return 0
    if args.command == "openapi":
        app = build_app(definition, settings)
        json.dump(app.openapi(), sys.stdout, ensure_ascii=False, indent=2)
        return 0
    if args.command == "asyncapi":
        json.dump(asyncapi_document(definition, settings), sys.stdout, ensure_ascii=False, indent=2)
        return 0
    if args.command == "grant-kafka":
        return asyncio.run(_grant_kafka(definition, settings, args))
    return asyncio.run(_offline(definition, settings, args, demo))


async def _grant_kafka(
    definition: ServiceDefinition, settings: ServiceSettings, args: argparse.Namespace
) -> int:
    from .access import create_acls, reader_grants, service_grants, upsert_scram_users

    prefix = settings.fairline_topic_prefix
    user = args.user or definition.name
    if args.reader:
        if not args.user:
            print("--reader needs --user", file=sys.stderr)
            return 2
        topics = [f"{prefix}{t}" for t in args.reader]
        grants = reader_grants(user, topics, f"{prefix}{user}.")
    else:
        grants = service_grants(definition, prefix, user)
    if args.print:
        for g in grants:
            print(f"{g.principal} {g.operation.name} {g.resource.name} {g.pattern.name} {g.name}")
        return 0
    password = os.environ.get(args.password_env, "")
    if not password:
        print(f"set {args.password_env} to the password of {user}", file=sys.stderr)
        return 2
    await upsert_scram_users(settings.kafka, {user: password})
    await create_acls(settings.kafka, grants)
    print(f"kafka: {user} may now do what {len(grants)} ACLs allow on {prefix}*")
    return 0


def definition_module(definition: ServiceDefinition) -> str:
    return f"{definition.name}.service"


def serving(settings: ServiceSettings) -> ServiceSettings:
    """An API process opens its whole pool at startup unless told otherwise: connecting
    (SCRAM, a backend forked) in the middle of the first burst delays every request."""
    if settings.database_pool_opened is not None:
        return settings
    return settings.model_copy(update={"database_pool_opened": settings.database_pool_size})


def app_from_environment() -> Any:
    """The app of one worker of `serve --workers N` (uvicorn imports it by name): HTTP only."""
    definition: ServiceDefinition = importlib.import_module(
        os.environ["FAIRLINE_SERVE_MODULE"]
    ).definition
    settings = serving(ServiceSettings())
    configure_logging(settings.log_level)
    app = build_app(definition, settings, relay=False, projections=False, jobs=False)
    settle_heap()
    return app


async def _offline(
    definition: ServiceDefinition,
    settings: ServiceSettings,
    args: argparse.Namespace,
    demo: Loader | None,
) -> int:
    runtime = Runtime(definition, settings)
    if args.command == "work":
        return await _work(runtime, args)
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


async def _work(runtime: Runtime, args: argparse.Namespace) -> int:
    """Relay, projections and jobs until SIGTERM or SIGINT."""
    # The relay's send spans and the projections' consumer spans go where the API's go
    # (OTEL_EXPORTER_OTLP_ENDPOINT); with no exporter they are not made at all.
    configure_tracing(runtime.definition.name)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    if runtime.settings.metrics_port is not None:
        from prometheus_client import start_http_server

        start_http_server(runtime.settings.metrics_port, addr=runtime.settings.http_host)
    await runtime.start(relay=not args.no_relay, projections=not args.no_projections)
    settle_heap(WORKING)
    try:
        await stop.wait()
    finally:
        await runtime.stop()
    return 0
