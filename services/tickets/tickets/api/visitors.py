"""Visitors: real-name self-registration, review by the organiser or the press centre,
and erasure of a visitor's personal data."""

from __future__ import annotations

import json
from typing import Annotated, Literal

from fairline_events.auth import Principal
from fairline_events.dependencies import Body, Pool, Store, new_id
from fairline_events.errors import Forbidden, NotFound
from fairline_events.shredding import Sealed, unseal_with
from fastapi import APIRouter, Query
from pydantic import BaseModel

from ..domain.commands import EraseVisitor, ReviewVisitor
from ..domain.events import VisitorRegistered
from ..domain.values import EditionCode, Identifier, Text, VisitorClass
from ..domain.visitor import VISITOR as VISITOR_FOLD
from ..domain.visitor import Visitor, visitor_stream
from ..handlers import erase_visitor, register_visitor, review_visitor, visitor_keys
from ..projections import views
from .common import (
    BOX_OFFICE,
    OPS,
    PRESS_CENTRE,
    Anyone,
    AsAnyone,
    AsReviewer,
    Registration,
    Reviewer,
    is_box_office,
    reviewer_of,
    seal_visitor,
)

router = APIRouter(tags=["visitors"])


class VisitorView(BaseModel):
    visitor_id: str
    edition_code: str
    visitor_class: str
    status: str
    erased: bool
    name: str | None
    document_type: str | None = None
    document_number: str | None = None
    phone: str | None = None
    organisation: str | None = None
    country_region: str | None = None


async def visitor_view(store: Store, visitor_id: str, *, full: bool = True) -> VisitorView:
    """The visitor opened with their key; the ID number only for their own account and the
    box office (`full`)."""
    stream = visitor_stream(visitor_id)
    envelopes = await store.read_stream(stream)
    events = [env.event(store.registry) for env in envelopes]
    state = VISITOR_FOLD.fold(stream, events)
    if state.status == "new":
        raise NotFound(f"visitor {visitor_id} not found", code="visitor_not_found")
    registered = next(e for e in events if isinstance(e, VisitorRegistered))
    keys = await visitor_keys.keys(store.pool, [registered.key_id])
    return VisitorView(
        visitor_id=visitor_id,
        edition_code=registered.edition_code,
        visitor_class=registered.visitor_class,
        status=state.status,
        erased=registered.key_id not in keys,
        name=unseal_with(keys, registered.name, "name"),
        document_type=registered.document_type,
        document_number=unseal_with(keys, registered.document_number, "document_number")
        if full
        else None,
        phone=unseal_with(keys, registered.phone, "phone") if full else None,
        organisation=unseal_with(keys, registered.organisation, "organisation"),
        country_region=registered.country_region,
    )


async def owned(
    store: Store,
    visitor_id: str,
    who: Principal,
    desks: tuple[str, ...] = (BOX_OFFICE, PRESS_CENTRE, OPS),
) -> Visitor:
    """The visitor, if the caller registered them or works at one of `desks`."""
    stream = visitor_stream(visitor_id)
    state, _ = await store.load(stream, VISITOR_FOLD.evolve, VISITOR_FOLD.initial(stream))
    if state.status == "new":
        raise NotFound(f"visitor {visitor_id} not found", code="visitor_not_found")
    if not who.has_any(desks) and state.account != who.subject:
        raise Forbidden(f"visitor {visitor_id} was registered by another account", code="not_yours")
    return state


class RegistrationIn(Registration):
    visitor_id: Identifier | None = None


@router.post(
    "/editions/{edition_code}/visitors",
    status_code=201,
    summary="register a visitor under their real name (trade and media wait for review)",
)
async def register(
    edition_code: EditionCode, body: RegistrationIn, acting: AsAnyone
) -> VisitorView:
    visitor_id = body.visitor_id or new_id("v")
    registration = Registration(**body.model_dump(exclude={"visitor_id"}))
    command = seal_visitor(
        registration,
        visitor_id=visitor_id,
        edition_code=edition_code,
        account=acting.who.subject,
        by_organiser=is_box_office(acting.who),
    )
    await register_visitor(acting.store, command, acting.context)
    return await visitor_view(acting.store, visitor_id)


@router.get("/visitors/{visitor_id}", summary="a visitor, opened for their account and the desks")
async def get_visitor(visitor_id: Identifier, who: Anyone, store: Store) -> VisitorView:
    await owned(store, visitor_id, who)
    return await visitor_view(store, visitor_id)


class Review(Body):
    approve: bool
    why: Text | None = None


@router.post(
    "/visitors/{visitor_id}/review",
    summary="approve or reject a trade visitor (organiser) or a journalist (press centre)",
)
async def review(visitor_id: Identifier, body: Review, acting: AsReviewer) -> VisitorView:
    command = ReviewVisitor(
        visitor_id=visitor_id, approve=body.approve, why=body.why, reviewer=reviewer_of(acting.who)
    )
    await review_visitor(acting.store, command, acting.context.because(body.why))
    return await visitor_view(acting.store, visitor_id)


class ErasureView(BaseModel):
    visitor_id: str
    erased: bool
    already_erased: bool


@router.post(
    "/visitors/{visitor_id}/erasure",
    summary="erase a visitor's personal data everywhere (their key is destroyed)",
)
async def erase(visitor_id: Identifier, acting: AsAnyone) -> ErasureView:
    # the press centre may not
    await owned(acting.store, visitor_id, acting.who, desks=(BOX_OFFICE, OPS))
    outcome = await erase_visitor(acting.store, EraseVisitor(visitor_id=visitor_id), acting.context)
    return ErasureView(visitor_id=visitor_id, erased=True, already_erased=not outcome.events)


class QueueEntry(BaseModel):
    visitor_id: str
    visitor_class: str
    status: str
    name: str | None
    organisation: str | None
    country_region: str


@router.get(
    "/editions/{edition_code}/visitors",
    summary="registrations by class and status: the review queues",
)
async def queue(
    edition_code: EditionCode,
    who: Reviewer,
    pool: Pool,
    status: Annotated[Literal["pending", "approved", "rejected", "erased"], Query()] = "pending",
    visitor_class: Annotated[VisitorClass | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[QueueEntry]:
    if PRESS_CENTRE in who.roles and not who.has_any((BOX_OFFICE, OPS)):
        visitor_class = "media"  # the press centre sees journalists only
    rows = await pool.fetch(
        f"""SELECT visitor_id, visitor_class, status, name::text AS name,
                   organisation::text AS organisation, country_region
            FROM {views.schema}.visitors
            WHERE edition_code = $1 AND status = $2 AND ($3::text IS NULL OR visitor_class = $3)
            ORDER BY registered_at, visitor_id LIMIT $4""",
        edition_code,
        status,
        visitor_class,
        limit,
    )
    sealed = {
        r["visitor_id"]: {
            f: Sealed.model_validate(json.loads(r[f])) if r[f] else None
            for f in ("name", "organisation")
        }
        for r in rows
    }
    key_ids = [s.key_id for fields in sealed.values() for s in fields.values() if s is not None]
    keys = await visitor_keys.keys(pool, key_ids)
    return [
        QueueEntry(
            visitor_id=r["visitor_id"],
            visitor_class=r["visitor_class"],
            status=r["status"],
            name=unseal_with(keys, sealed[r["visitor_id"]]["name"], "name"),
            organisation=unseal_with(keys, sealed[r["visitor_id"]]["organisation"], "organisation"),
            country_region=r["country_region"],
        )
        for r in rows
    ]
