"""Typed errors shared by every service.

Domain code raises these; the HTTP layer turns each category into one status and the
common error body, so a client never sees a 500 for something it sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar


class DomainError(Exception):
    """A command that the rules refuse. `code` is machine-readable, `message` is for people."""

    status = 422
    code = "rule_violation"
    headers: ClassVar[Mapping[str, str]] = {}
    """HTTP headers the answer carries (Retry-After on a 503, WWW-Authenticate on a 401)."""

    def __init__(self, message: str, *, code: str | None = None, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details = details


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Conflict(DomainError):
    """The command clashes with the current state (already taken, already exists)."""

    status = 409
    code = "conflict"


class Forbidden(DomainError):
    status = 403
    code = "forbidden"


class ConcurrencyConflict(Conflict):
    """Another writer appended to the stream first; the client may reload and retry."""

    code = "concurrency_conflict"

    def __init__(self, stream_id: str, expected_version: int, actual_version: int | None = None):
        super().__init__(
            f"stream {stream_id} changed concurrently (expected version {expected_version}"
            + (f", found {actual_version}" if actual_version is not None else "")
            + "); reload and retry",
            stream_id=stream_id,
            expected_version=expected_version,
            actual_version=actual_version,
        )
        self.stream_id = stream_id
        self.expected_version = expected_version


class EventDecodingError(Exception):
    """An event that cannot be turned back into a domain event."""


class UnknownEventType(EventDecodingError):
    def __init__(self, event_type: str, schema_version: int | None = None) -> None:
        super().__init__(
            f"unknown event type {event_type!r}"
            + (f" version {schema_version}" if schema_version is not None else "")
        )
        self.event_type = event_type
        self.schema_version = schema_version


class MalformedEvent(EventDecodingError):
    def __init__(self, reason: str) -> None:
        super().__init__(f"malformed event: {reason}")
        self.reason = reason


class RefusedEvent(Exception):
    """A well-formed event a consumer must not apply: it contradicts what it already holds
    or where it came from. It goes to the dead-letter topic; the projection goes on."""


class VersionGap(RefusedEvent):
    """Version n+1 of a stream is applied only after n: an event from further ahead."""


class ConflictingEvent(RefusedEvent):
    """A version already applied as another event (a relay re-send has the same event id)."""


class WrongOrigin(RefusedEvent):
    """The event says it comes from another service than the one owning the topic, or is not
    in the owning service's event store."""
