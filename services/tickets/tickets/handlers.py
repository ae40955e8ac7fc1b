"""One handler per command: read the streams its decision needs, then decide.

The rules live in `domain/`, one module per aggregate; a handler only says which streams a
command writes (`streams(...)`, `streams.all(...)`: locked, then read) and which it only
reads (`streams.peek(...)`), and passes each state to the decision by name. Every event
names its own stream, so a handler returns the decision's events as they are.

What must commit with the events or not at all goes through `streams.with_events`: a new
visitor's key, an erasure, a new signing key's private half.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

import asyncpg
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from fairline_events import snapshots
from fairline_events.context import CommandContext
from fairline_events.decider import Fold
from fairline_events.errors import DomainError
from fairline_events.registry import DomainEvent
from fairline_events.shredding import KeyStore
from fairline_events.store import EventStore
from fairline_events.transact import After, Outcome, Streams, command_handler

from . import shards
from .domain import order as orders
from .domain import product as products
from .domain import quota as quotas
from .domain import signing, ticket, visitor
from .domain.commands import (
    CancelOrder,
    CheckIn,
    DefineProduct,
    EraseVisitor,
    ExpireOrder,
    NewVisitor,
    PlaceOrder,
    RecordOfflineScans,
    RecordPayment,
    RefundOrder,
    ReviewVisitor,
    RotateSigningKey,
    SetQuota,
)
from .domain.events import Need, QuotaClaim, QuotaKey, VisitorErased
from .domain.order import ORDER, PAYMENT, Order, order_stream, payment_stream
from .domain.product import PRODUCT, Product, product_stream
from .domain.qr import b64, read_code
from .domain.quota import QUOTA, Quota
from .domain.signing import SIGNING_KEYS, signing_keys_stream
from .domain.ticket import TICKET, Ticket, ticket_stream
from .domain.visitor import VISITOR, visitor_stream
from .shards import SHARD_WAIT, ShardRotation, rotation

visitor_keys = KeyStore("visitor_keys")

snapshots.register(QUOTA, Quota, kind="tickets.quota.1", every=100)
"""A quota shard takes an event per order: a process that starts reads a rushed shard from
its latest snapshot and at most a hundred events after it, not its thousands of orders."""


def new_signing_key(edition_code: str, key_id: str) -> RotateSigningKey:
    """A fresh Ed25519 key pair for an edition's tickets."""
    private = Ed25519PrivateKey.generate()
    public = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return RotateSigningKey(
        edition_code=edition_code,
        key_id=key_id,
        public_key=b64(public),
        private_key=private.private_bytes_raw(),
    )


# --- products, quotas, keys -------------------------------------------------------------


@command_handler
async def define_product(command: DefineProduct, streams: Streams) -> list[DomainEvent]:
    """An edition's first product also gets the edition its first signing key."""
    product, keys = await streams.all(
        (PRODUCT, product_stream(command.edition_code, command.product_code)),
        (SIGNING_KEYS, signing_keys_stream(command.edition_code)),
    )
    events = products.define(command, product=product)
    if keys.active is None:
        first = new_signing_key(command.edition_code, f"{command.edition_code}-k1")
        streams.with_events(_keep_signing_key(first))
        events += signing.rotate(first, keys=keys, now=streams.now)
    return events


@command_handler
async def set_quota(command: SetQuota, streams: Streams) -> list[DomainEvent]:
    """Every shard of the quota is locked: the capacity is spread over them all."""
    key = QuotaKey(day=command.day, venue=command.venue, visitor_class=command.visitor_class)
    stream_ids = quotas.shard_streams(command.edition_code, key)
    shards = await streams.all(*((QUOTA, s) for s in stream_ids))
    return quotas.set_capacity(command, shards=shards)


@command_handler
async def rotate_signing_key(command: RotateSigningKey, streams: Streams) -> list[DomainEvent]:
    keys = await streams(SIGNING_KEYS, signing_keys_stream(command.edition_code))
    streams.with_events(_keep_signing_key(command))
    return signing.rotate(command, keys=keys, now=streams.now)


def _keep_signing_key(command: RotateSigningKey) -> After:
    async def keep(connection: asyncpg.Connection, events: Sequence[DomainEvent]) -> None:
        await connection.execute(
            "INSERT INTO signing_keys (key_id, edition_code, private_key) VALUES ($1, $2, $3)",
            command.key_id,
            command.edition_code,
            command.private_key,
        )

    return keep


# --- visitors -------------------------------------------------------------------------


@command_handler
async def register_visitor(command: NewVisitor, streams: Streams) -> list[DomainEvent]:
    registered = await streams(VISITOR, visitor_stream(command.visitor_id))
    streams.with_events(_keep_key(command))
    return visitor.register(command, visitor=registered)


@command_handler
async def review_visitor(command: ReviewVisitor, streams: Streams) -> list[DomainEvent]:
    reviewed = await streams(VISITOR, visitor_stream(command.visitor_id))
    return visitor.review(command, visitor=reviewed)


@command_handler
async def erase_visitor(command: EraseVisitor, streams: Streams) -> list[DomainEvent]:
    """The visitor's key is destroyed with the VisitorErased event: nothing opens after."""
    erased = await streams(VISITOR, visitor_stream(command.visitor_id))
    streams.with_events(_shred)
    return visitor.erase(command, visitor=erased)


def _keep_key(command: NewVisitor) -> After:
    async def keep(connection: asyncpg.Connection, events: Sequence[DomainEvent]) -> None:
        await visitor_keys.create(connection, command.key_id, command.key)

    return keep


async def _shred(connection: asyncpg.Connection, events: Sequence[DomainEvent]) -> None:
    for erased in (e for e in events if isinstance(e, VisitorErased)):
        await visitor_keys.destroy(connection, erased.key_id)


# --- orders and payments ----------------------------------------------------------------


def _claim_streams(edition_code: str, claims: Sequence[QuotaClaim]) -> list[str]:
    return [quotas.claim_stream(edition_code, c) for c in claims]


def _all_shards(edition_code: str, needs: Sequence[Need]) -> list[str]:
    return [s for need in needs for s in quotas.shard_streams(edition_code, need)]


async def _glance(
    streams: Streams, wanted: list[str], *, also: Sequence[tuple[Fold[Any], str]] = ()
) -> tuple[dict[str, Quota], list[Any]]:
    """Quotas as they stand, read without a lock and without marking them read for this
    command: a full quota stays full until an order gives places back, so refusing on this
    read is the answer a locked read would give. Five thousand buyers for the last places
    are then told "sold out" side by side, instead of queueing one by one on the lock.

    `also`: streams the command only reads (its product, its visitors), read in the same
    round trip; their states come back in that order."""
    reads = [*also, *((QUOTA, s) for s in wanted)]
    if not isinstance(streams.store, EventStore):  # in memory (unit tests): just read
        states = await streams.peek_all(*reads)
    else:
        store = streams.store
        loaded = await store.load_many(
            [(s, fold.evolve, fold.initial(s)) for fold, s in reads],
            connection=streams.connection,
        )
        # Read before this transaction wrote anything, so committed: cached for the next order,
        # which then reads only the shards' newer events (the store caches only what it knows
        # to be committed, and cannot tell inside a transaction). Visitors are not: each
        # orders once, and would only push hot states out of the cache.
        for (fold, stream_id), (state, version) in zip(reads, loaded, strict=True):
            if fold is not VISITOR:
                store.remember(stream_id, fold.evolve, state, version)
        states = [state for state, _ in loaded]
    read = len(also)
    return dict(zip(wanted, states[read:], strict=True)), states[:read]


Known = Callable[[Fold[Any], str], Any]
"""A stream's state as this process last saw it committed (`Streams.known`), or None."""


def _known_product(known: Known, command: PlaceOrder) -> tuple[Product, list[date]] | None:
    """The product as this process last saw it, and the days the order is for: a hint (a
    product never changes once defined) of which quotas the order needs, so that they are
    read with the product and the visitors instead of after them."""
    product = known(PRODUCT, product_stream(command.edition_code, command.product_code))
    if product is None or not product.defined:
        return None
    try:
        days = product.days_of(command.day)
    except DomainError:  # refused below, on the product as read
        return None
    if len(days) * len(product.venues) * len(product.classes) > LIKELY_QUOTAS:
        return None
    return product, days


LIKELY_QUOTAS = 4
"""Quotas (of `SHARDS` streams each) an order reads before it knows its visitors, at most."""


def _roomy_shards(known: Known, command: PlaceOrder) -> list[list[str]]:
    """The streams of each shard the order could take its places from (one per day and
    venue of the known product, which admits one class), those not known to lack room,
    from the order id's shard on; none when the product is not known."""
    product_days = _known_product(known, command)
    if product_days is None or len(product_days[0].classes) != 1:
        return []
    product, days = product_days
    every = _shards_of(product.edition_code, tuple(days), product.venues, product.classes[0])
    start = quotas.first_shard(command.order_id)
    places = len(command.visitor_ids)
    return [list(c) for c in (*every[start:], *every[:start]) if _has_room(known, c, places=places)]


@functools.lru_cache(maxsize=1024)
def _shards_of(
    edition_code: str, days: tuple[date, ...], venues: tuple[str, ...], visitor_class: str
) -> tuple[tuple[str, ...], ...]:
    """Each shard's streams (one per day and venue), in shard order: the same for every order
    of a product and day, so named once, not for every order."""
    return tuple(
        tuple(
            quotas.quota_stream(edition_code, day, venue, visitor_class, shard)
            for day in days
            for venue in venues
        )
        for shard in range(quotas.SHARDS)
    )


def _has_room(known: Known, stream_ids: Sequence[str], *, places: int) -> bool:
    """Whether no stream of the shard is known to have fewer than `places` left."""
    for stream_id in stream_ids:
        seen = known(QUOTA, stream_id)
        if seen is not None and seen.left < places:
            return False
    return True


def _own_shards(streams: Streams, command: PlaceOrder) -> list[str]:
    """The order's own shard of each quota it needs, when the known product says which (it
    admits one class): those are locked and read with the product and the visitors in one
    round trip, the rush's common case. Empty when no shard is known to have room: the
    quotas are then read unlocked first, so that a sold-out answer takes no lock and five
    thousand buyers for the last places are told side by side.

    The shard is the one this process gave an order least lately (`shards.ShardRotation`),
    among those not known to lack room, and not one whose writer lost a race in the last
    second: the orders a process has in flight at once then each write another shard,
    instead of two of them racing for one (the loser, and every order on that shard for a
    second after, would take the locked path: 95% of orders at 250/s when the shard was the
    order id's). Of the shards free in this process, its desk's own come first
    (`desks.Desk`): two processes then keep to their own shards, and take another's only
    while all theirs are busy."""
    spread = shards.current()
    given = spread.given_last()
    if (
        given is not None
        and (not streams.locked or streams.locked.issuperset(given))
        and _has_room(streams.known, given, places=len(command.visitor_ids))
    ):
        # What the preference below picks (the shard given this order comes first, after
        # one it holds locked already), without listing the candidates again: `free_shard`
        # gave it from the same list a moment ago.
        return given
    roomy = _roomy_shards(streams.known, command)
    if not roomy:
        return []

    def preference(stream_ids: list[str]) -> tuple[bool, bool, bool, int, bool, int]:
        # a retry keeps the shard it holds locked already: another would hold two locks
        return (
            not streams.locked.issuperset(stream_ids),
            not spread.given_here(stream_ids),  # by `free_shard`, before the order's reads
            streams.contended(stream_ids),
            spread.busy(stream_ids),
            not spread.owns(stream_ids),
            spread.last(stream_ids),
        )

    own = min(roomy, key=preference)
    spread.give(own)
    return own


@command_handler
async def place_order(command: PlaceOrder, streams: Streams) -> list[DomainEvent]:
    """Hold places for every visitor on every day and venue of the product, or refuse.

    Most orders find room in their own shard of each quota (spread by order id): those are
    locked and read at once with the product and the visitors. Otherwise the quotas' shards
    are read unlocked: a sold-out answer needs no lock, and the shards with room are chosen
    from there. Only those are locked; if others took their places meanwhile, every shard is
    locked and the order allocated again, so the answer is always the rule's (held, or sold
    out), never a bare conflict."""
    read_only: list[tuple[Fold[Any], str]] = [
        (PRODUCT, product_stream(command.edition_code, command.product_code)),
        *((VISITOR, visitor_stream(v)) for v in command.visitor_ids),
    ]
    own = _own_shards(streams, command)
    glanced: dict[str, Quota] = {}
    if own:
        _, *states = await streams.all(
            (ORDER, order_stream(command.order_id)),
            *((QUOTA, s) for s in own),
            also=read_only,
        )
        locked: dict[str, Quota] = dict(zip(own, states[: len(own)], strict=True))
        product, *visitors = states[len(own) :]
    else:
        glanced, (product, *visitors) = await _glance(
            streams, _likely_shards(streams, command), also=read_only
        )
        locked = {}
    orders.admissible(command, product=product, visitors=visitors, now=streams.now)
    edition = product.edition_code
    needs = orders.needs_for(product, visitors, product.days_of(command.day))
    claims = quotas.allocate(needs, quotas=locked, edition_code=edition, order_id=command.order_id)
    if claims is None:
        every = _all_shards(edition, needs)
        if missing := [s for s in every if s not in glanced]:
            glanced |= (await _glance(streams, missing))[0]
        quotas.shortfall(needs, quotas=glanced, edition_code=edition)
        claims = quotas.allocate(
            needs, quotas=glanced, edition_code=edition, order_id=command.order_id
        )
        chosen = _claim_streams(edition, claims or [])
        _, *held = await streams.all(
            (ORDER, order_stream(command.order_id)), *((QUOTA, s) for s in chosen)
        )
        locked = dict(zip(chosen, held, strict=True))
        if claims is None or not quotas.fits(claims, quotas=locked, edition_code=edition):
            locked = dict(zip(every, await streams.all(*((QUOTA, s) for s in every)), strict=True))
            claims = quotas.allocate(
                needs, quotas=locked, edition_code=edition, order_id=command.order_id
            )
    order = await streams(ORDER, order_stream(command.order_id))  # locked above: no query
    if not product.price:  # a free pass is issued at once: its tickets are written too
        await _tickets(streams, orders.ticket_ids_for(command.order_id, len(visitors)))
    return orders.place(
        command,
        order=order,
        product=product,
        visitors=visitors,
        claims=claims,
        quotas=locked,
        now=streams.now,
    )


async def place_order_spread(
    store: EventStore, command: PlaceOrder, context: CommandContext, *, at: ShardRotation = rotation
) -> Outcome:
    """`place_order`, with the shards it writes marked busy in this process until it is
    done: the other orders in flight are given other shards while one is free, and wait
    for one (`SHARD_WAIT` at most) while every shard of this desk's with room (or every
    shard with room, when none of its own has) is being written. `at`: the process's
    rotation (another only in tests that play two processes)."""
    at.keep_desk(store)
    with at.choosing(), at.placing():
        await at.free_shard(
            _roomy_shards(lambda fold, s: store.known(s, fold.evolve), command),
            within=SHARD_WAIT,
            contended=store.contended,
        )
        return await place_order(store, command, context)


def _likely_shards(streams: Streams, command: PlaceOrder) -> list[str]:
    """Every shard of each quota the known product may take places from (all its days,
    venues and classes), to read with the product and the visitors."""
    known = _known_product(streams.known, command)
    if known is None:
        return []
    product, days = known
    return [
        quotas.quota_stream(product.edition_code, day, venue, cls, shard)
        for day in days
        for venue in product.venues
        for cls in product.classes
        for shard in range(quotas.SHARDS)
    ]


@command_handler
async def record_payment(command: RecordPayment, streams: Streams) -> list[DomainEvent]:
    """A verified provider notification: once per transaction, however often it comes."""
    payment, order = await streams.all(
        (PAYMENT, payment_stream(command.provider, command.transaction_id)),
        (ORDER, order_stream(command.order_id)),
    )
    held: dict[str, Quota] = {}
    if order.status in ("expired", "canceled") and not payment.recorded:
        wanted = _claim_streams(order.edition_code, order.claims)
        states = await streams.all(*((QUOTA, s) for s in wanted))
        held = dict(zip(wanted, states, strict=True))
    if order.status != "new" and not payment.recorded:
        await _tickets(streams, orders.ticket_ids(order))
    product = await streams.peek(PRODUCT, product_stream(order.edition_code, order.product_code))
    return orders.pay(command, payment=payment, order=order, product=product, quotas=held)


@command_handler
async def expire_order(command: ExpireOrder, streams: Streams) -> list[DomainEvent]:
    order = await _order_and_quotas(streams, command.order_id)
    return orders.expire(order, now=streams.now)


@command_handler
async def cancel_order(command: CancelOrder, streams: Streams) -> list[DomainEvent]:
    order = await _order_and_quotas(streams, command.order_id)
    return orders.cancel(command, order=order, tickets=await _tickets(streams, order.ticket_ids))


@command_handler
async def refund_order(command: RefundOrder, streams: Streams) -> list[DomainEvent]:
    """After the provider refunded: the tickets are revoked and the places go back."""
    order = await _order_and_quotas(streams, command.order_id)
    return orders.refund(command, order=order, tickets=await _tickets(streams, order.ticket_ids))


async def _order_and_quotas(streams: Streams, order_id: str) -> Order:
    """The order, and the quotas it holds, found from it and locked after it."""
    order = await streams(ORDER, order_stream(order_id))
    await streams.all(*((QUOTA, s) for s in _claim_streams(order.edition_code, order.claims)))
    return order


async def _tickets(streams: Streams, ticket_ids: Sequence[str]) -> list[Ticket]:
    return list(await streams.all(*((TICKET, ticket_stream(t)) for t in ticket_ids)))


# --- gates ----------------------------------------------------------------------------


@command_handler
async def check_in(command: CheckIn, streams: Streams) -> list[DomainEvent]:
    """Two gates scanning one ticket queue on its stream: the first admits."""
    code = read_code(command.scan.qr)
    keys = _trusted_keys(streams, code.edition_code, code.key_id)
    if keys is not None:  # the key is known here: the scan reads (and checks) its ticket only
        scanned = await streams(TICKET, ticket_stream(code.ticket_id))
    else:  # the edition's public keys, only read, come with the ticket in one round trip
        scanned, keys = await streams.all(
            (TICKET, ticket_stream(code.ticket_id)),
            also=[(SIGNING_KEYS, signing_keys_stream(code.edition_code))],
        )
    return ticket.check_in(command, code=code, ticket=scanned, keys=keys, now=streams.now)


def _trusted_keys(streams: Streams, edition_code: str, key_id: str) -> signing.SigningKeys | None:
    """The edition's keys as this process last read them committed, when they hold the key
    the code names: a key once activated stays trusted and unchanged (`signing.rotate` only
    adds a new id), so a code it verifies is genuine whatever the keys' stream has gained
    since, and the scan need not read them again nor have the append check their version.
    None when the key is not known here (a code signed with a key rotated in by another
    process, or a forgery): then read."""
    keys = streams.known(SIGNING_KEYS, signing_keys_stream(edition_code))
    return keys if keys is not None and key_id in keys.keys else None


@command_handler
async def record_offline_scans(command: RecordOfflineScans, streams: Streams) -> list[DomainEvent]:
    scanned = await streams(TICKET, ticket_stream(command.ticket_id))
    edition = read_code(command.scans[0].qr).edition_code
    keys = await streams.peek(SIGNING_KEYS, signing_keys_stream(edition))
    return ticket.record_offline(command, ticket=scanned, keys=keys)
