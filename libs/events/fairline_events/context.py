"""Who asks, why, and under which trace: the metadata every appended event carries."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from opentelemetry import propagate


def current_trace_context() -> dict[str, str]:
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier


def continued_trace(carried: dict[str, str]) -> dict[str, str]:
    """The trace context of a policy's command: the consumer's `process` span, current while
    the policy handles the event (so the reaction is its child, in the same trace), else the
    context the event carried."""
    return current_trace_context() or dict(carried)


def utc_now() -> datetime:
    return datetime.now(UTC)


Clock = Callable[[], datetime]
"""The time rules see: the system clock, or a test's own (`app.state.clock`)."""


@dataclass(frozen=True)
class CommandContext:
    actor: str
    reason: str | None = None
    command: str | None = None
    correlation_id: uuid.UUID = field(default_factory=uuid.uuid4)
    causation_id: uuid.UUID | None = None
    trace_context: dict[str, str] = field(default_factory=current_trace_context)
    clock: Clock = field(default=utc_now, compare=False, repr=False)
    """Read once per attempt of a command: every rule of that attempt sees the same now."""
    receipt: Any = field(default=None, compare=False, repr=False)
    """The request's `consistency.Receipt`: what its commands wrote, for the answer's token."""

    def for_command(self, command: str, reason: str | None = None) -> CommandContext:
        # Made field by field: `dataclasses.replace` inspects the fields on every command.
        return CommandContext(
            actor=self.actor,
            reason=reason if reason is not None else self.reason,
            command=command,
            correlation_id=self.correlation_id,
            causation_id=self.causation_id,
            trace_context=self.trace_context,
            clock=self.clock,
            receipt=self.receipt,
        )

    def because(self, reason: str | None) -> CommandContext:
        """The same caller, with the reason a request gave for its change."""
        return replace(self, reason=reason)

    @classmethod
    def system(cls, process: str, reason: str | None = None) -> CommandContext:
        return cls(actor=f"system:{process}", reason=reason)


def request_context(
    actor: str,
    *,
    correlation_id: str | None = None,
    reason: str | None = None,
    clock: Clock = utc_now,
    receipt: Any = None,
) -> CommandContext:
    """The context of a command that arrived over HTTP, inside the request's span."""
    try:
        correlation = uuid.UUID(correlation_id) if correlation_id else uuid.uuid4()
    except ValueError:
        correlation = uuid.uuid5(uuid.NAMESPACE_URL, correlation_id or "")
    return CommandContext(
        actor=actor, reason=reason, correlation_id=correlation, clock=clock, receipt=receipt
    )
