"""Where a policy's commands run: the service's own handlers, inside the projection runner's
transaction.

A policy reacts to another service's events by issuing its own service's commands. Each
command is appended in the transaction that also records the consumed offset, so a
redelivery or a rebuild finds it done; its envelope says which system process acted, why
(the event that caused it) and carries that event's correlation id and trace context.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar, cast

import asyncpg

from .context import CommandContext, continued_trace
from .envelope import Envelope
from .projection import ReadModel
from .registry import EventRegistry
from .store import EventStore
from .transact import CommandHandler, Outcome

C = TypeVar("C")


@dataclass(frozen=True)
class PolicyCommands:
    """The service's event store bound to the runner's transaction, and who acts."""

    store: EventStore
    connection: asyncpg.Connection
    context: CommandContext

    async def run(self, handler: CommandHandler[C], command: C) -> Outcome:
        return await handler(self.store, command, self.context, connection=self.connection)


def policy_commands(
    tx: ReadModel, registry: EventRegistry, env: Envelope, *, actor: str, source: str
) -> PolicyCommands:
    """Commands caused by `env`, appended by `actor` (`system:<process>`) to the store of
    `registry`'s service within `tx`. The store names its tables by schema, so the
    projection's search_path does not hide them; `source` names the service the event came
    from, for the reason."""
    connection = cast(asyncpg.Connection, tx)  # the runner's pipeline forwards to it
    return PolicyCommands(
        store=EventStore(cast(asyncpg.Pool, connection), registry),
        connection=connection,
        context=CommandContext(
            actor=actor,
            reason=f"{env.event_type} from the {source} service",
            correlation_id=env.correlation_id,
            causation_id=env.event_id,
            trace_context=continued_trace(env.trace_context),
        ),
    )
