"""Answering another service's request exactly once, whatever the rules say.

A service asked for something by another service's event (a sponsor's booth discount, launch
slot or room block, asked by the sponsorship service) keeps, per request, a stream of its
answers: granted, or refused with its own rules' reason and code, per attempt. The asking
service reads the answer either way, so a refusal is an event too, never an exception that
would dead-letter the request.

- A redelivered request finds its answer and changes nothing.
- A new attempt after a refusal is decided afresh.
- Once granted, nothing is granted again while the grant stands; once it no longer stands
  (the asking service withdrew the benefit), a later attempt is decided afresh.

The decision is pure: a service's `domain/` calls `answer_once` with its request's state and
two functions, the grant (its own rules, raising `DomainError`, or pydantic's
`ValidationError` for values its commands refuse) and the refusal event.
"""

from __future__ import annotations

from collections.abc import Callable, Collection

from pydantic import ValidationError

from .errors import DomainError
from .registry import DomainEvent

REASON_LENGTH = 1000
"""A refusal's reason is cut to this many characters (the asking service shows it)."""


def answer_once(
    attempt: int,
    *,
    refused: Collection[int],
    granted: int,
    standing: bool,
    grant: Callable[[], list[DomainEvent]],
    refuse: Callable[[str, str], DomainEvent],
) -> list[DomainEvent]:
    """The events answering `attempt` of a request: none when it is answered already, else
    what `grant` decides, or `refuse(reason, code)` when the rules refuse it.

    `refused` holds the attempts refused, `granted` the attempt granted last (0: none) and
    `standing` whether that grant still stands."""
    if attempt in refused:
        return []  # answered already (a redelivered request)
    if granted and (standing or attempt <= granted):
        return []  # answered already, or what it granted still stands
    try:
        return grant()
    except (DomainError, ValidationError) as exc:
        reason, code = refusal(exc)
        return [refuse(reason[:REASON_LENGTH], code)]


def refusal(exc: DomainError | ValidationError) -> tuple[str, str]:
    """The reason and code a refusal gives: the rules' own words, or what was invalid."""
    if isinstance(exc, DomainError):
        return exc.message, exc.code
    return "; ".join(str(problem["msg"]) for problem in exc.errors()), "invalid_request"
