"""Telling a dependency outage from a bug: which failures mean "PostgreSQL or Kafka is down".

A request that fails because the database or the broker does not answer is not the
client's fault and not a bug: it is worth retrying in a moment. The HTTP layer answers those
with 503 `unavailable` and Retry-After instead of 500; the background loops log them as one
line instead of a stack trace.
"""

from __future__ import annotations

import logging
from types import TracebackType

import asyncpg
from aiokafka import errors as kafka_errors

POSTGRESQL = "postgresql"
KAFKA = "kafka"


class DependencyUnavailable(Exception):
    """Raised by code that knows a dependency is down (e.g. a check that timed out)."""

    def __init__(self, dependency: str, reason: str) -> None:
        super().__init__(f"{dependency} is unavailable: {reason}")
        self.dependency = dependency
        self.reason = reason


# Server-side refusals that only say "not now": starting up, shutting down, full.
_POSTGRES_NOT_NOW = (
    asyncpg.PostgresConnectionError,  # class 08: connection lost, refused, never made
    asyncpg.CannotConnectNowError,  # "the database system is starting up"
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    asyncpg.TooManyConnectionsError,
    asyncpg.InternalClientError,  # a protocol state cut short by a dropped connection
)
# InterfaceErrors that follow a dropped connection; others (e.g. "another operation is in
# progress") are bugs and stay 500.
_BROKEN_CONNECTION = ("is closed", "released back to the pool", "pool is closing")


def _modules(tb: TracebackType | None) -> set[str]:
    """The top-level packages whose code the exception passed through."""
    found: set[str] = set()
    while tb is not None:
        name = tb.tb_frame.f_globals.get("__name__", "")
        found.add(str(name).split(".", 1)[0])
        tb = tb.tb_next
    return found


def _one(exc: BaseException) -> str | None:
    if isinstance(exc, DependencyUnavailable):
        return exc.dependency
    if isinstance(exc, _POSTGRES_NOT_NOW):
        return POSTGRESQL
    if isinstance(exc, asyncpg.InterfaceError):
        return POSTGRESQL if any(s in str(exc) for s in _BROKEN_CONNECTION) else None
    if isinstance(exc, kafka_errors.KafkaError):
        retriable = isinstance(
            exc, kafka_errors.KafkaConnectionError | kafka_errors.KafkaTimeoutError
        ) or bool(getattr(exc, "retriable", False))
        return KAFKA if retriable else None
    if isinstance(exc, OSError):  # refused, reset, timed out (TimeoutError is an OSError)
        # Whose socket it was shows in the traceback: a pool acquire or connect that timed
        # out, a refused connect, a read on a reset connection.
        modules = _modules(exc.__traceback__)
        if "asyncpg" in modules:
            return POSTGRESQL
        if "aiokafka" in modules:
            return KAFKA
    return None


def _chain(exc: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and all(current is not c for c in chain):
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def outage_cause(exc: BaseException) -> BaseException:
    """The exception in `exc`'s chain that says which dependency failed, else `exc`.

    "cannot call Transaction.__aexit__(): the underlying connection is closed" is raised
    while the real cause, the lost connection, is being handled: the first one is told.
    """
    causes = [c for c in _chain(exc) if _one(c) is not None]
    return causes[-1] if causes else exc


def unavailable_dependency(exc: BaseException) -> str | None:
    """`postgresql` or `kafka` when `exc` (or what it was raised from) means that dependency
    does not answer; None for anything else."""
    return next((d for d in map(_one, _chain(exc)) if d is not None), None)


class OutageWithoutTraceback(logging.Filter):
    """A library's warning about a dependency that is down, in one line, not a stack trace
    per attempt (asyncpg's pool logs one each time it fails to reopen its minimum)."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if error is not None and unavailable_dependency(error) is not None:
            record.msg = f"{record.msg}: {outage_cause(error)!r}"
            record.exc_info = None
            record.exc_text = None
        return True
