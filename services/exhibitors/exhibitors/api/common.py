"""What the exhibitors endpoints share beyond `fairline_events.dependencies`: who may call
them, who asks as the rules see it, and reading one stream's state for a view."""

from __future__ import annotations

from typing import Annotated, TypeVar

from fairline_events.auth import Principal, require
from fairline_events.dependencies import Acting, acting
from fairline_events.errors import NotFound
from fairline_events.store import EventStore
from fastapi import Depends
from pydantic import TypeAdapter, ValidationError

from ..domain.aggregate import Aggregate
from ..domain.values import Actor, Identifier

S = TypeVar("S")

Anyone = Annotated[Principal, Depends(require())]
"""Any signed-in user: visitors, exhibitors' staff, the organiser's teams."""
Exhibitor = Annotated[Principal, Depends(require("exhibitor", "recruitment"))]
"""A company's staff (checked against the company's staff list) or the recruitment team."""
Recruiter = Annotated[Principal, Depends(require("recruitment"))]
Participant = Annotated[Principal, Depends(require("visitor", "exhibitor", "recruitment"))]
"""Someone who exchanges cards and meets: a visitor or an exhibitor's staff member."""

# The role checks of commands: each also brings the store and the command's context, one
# dependency per route (fairline_events.dependencies.Acting).
AsAnyone = Annotated[Acting, Depends(acting())]
AsExhibitor = Annotated[Acting, Depends(acting("exhibitor", "recruitment"))]
AsRecruiter = Annotated[Acting, Depends(acting("recruitment"))]
AsParticipant = Annotated[Acting, Depends(acting("visitor", "exhibitor", "recruitment"))]


def actor(who: Principal) -> Actor:
    """The caller as the rules see them: a person, perhaps of the recruitment team."""
    return Actor(person=who.subject, recruiter=who.has_any(("recruitment",)))


async def read(store: EventStore, kind: Aggregate[S], key: str) -> tuple[S, int]:
    """One stream's state and version, for a view (commands read inside their handler)."""
    stream = kind.stream(key)
    return await store.load(stream, kind.evolve, kind.initial(stream))


_IDENTIFIER: TypeAdapter[str] = TypeAdapter(Identifier)


def known(key: str, what: str, code: str) -> str:
    """`key`, when some stream may have it. An id that no command accepts (too long) names
    nothing: a 404 `code`, as when the id is looked up, rather than a 422 on the command."""
    try:
        _IDENTIFIER.validate_python(key)
    except ValidationError:
        raise NotFound(f"{what} {key} not found", code=code) from None
    return key
