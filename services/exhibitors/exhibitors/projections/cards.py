"""Cards and exchanges, for the lists of each person's requests and contacts.

The table holds every card; the API's query decides what a viewer may see of each (contact
details only along accepted exchanges), as domain/cards.py `card_seen_by` says.
"""

from __future__ import annotations

from fairline_events.envelope import Envelope
from fairline_events.projection import Projection, ReadModel, Statements, sql

from ..domain.cards import CardRequestDeclined, CardSaved, CardsExchanged, CardsRequested
from ..domain.events import registry

cards = Projection(
    name="cards",
    topics=["exhibitors.events"],
    registry=registry,
    tables_sql="""
    CREATE TABLE IF NOT EXISTS cards (
        person            text PRIMARY KEY,
        name              text NOT NULL,
        title             text NOT NULL,
        organisation      text NOT NULL,
        country_or_region text,
        email             text,
        phone             text
    );
    CREATE TABLE IF NOT EXISTS exchanges (
        exchange_id  text PRIMARY KEY,
        requester    text NOT NULL,
        recipient    text NOT NULL,
        company_id   text NOT NULL,
        status       text NOT NULL,
        requested_at timestamptz NOT NULL,
        answered_at  timestamptz
    );
    CREATE INDEX IF NOT EXISTS exchanges_by_requester ON exchanges (requester);
    CREATE INDEX IF NOT EXISTS exchanges_by_recipient ON exchanges (recipient);
    """,
)


@cards.on(CardSaved)
async def saved(e: CardSaved, env: Envelope, tx: ReadModel) -> Statements:
    c = e.card
    return sql(
        """INSERT INTO cards VALUES ($1, $2, $3, $4, $5, $6, $7)
           ON CONFLICT (person) DO UPDATE SET name = $2, title = $3, organisation = $4,
             country_or_region = $5, email = $6, phone = $7""",
        e.person,
        c.name,
        c.title,
        c.organisation,
        c.country_or_region,
        c.email,
        c.phone,
    )


@cards.on(CardsRequested)
async def requested(e: CardsRequested, env: Envelope, tx: ReadModel) -> Statements:
    return sql(
        """INSERT INTO exchanges VALUES ($1, $2, $3, $4, 'pending', $5, NULL)
           ON CONFLICT (exchange_id) DO UPDATE SET requester = $2, recipient = $3,
             company_id = $4, status = 'pending', requested_at = $5, answered_at = NULL""",
        e.exchange_id,
        e.requester,
        e.recipient,
        e.company_id,
        env.occurred_at,
    )


@cards.on(CardsExchanged)
async def exchanged(e: CardsExchanged, env: Envelope, tx: ReadModel) -> Statements:
    return sql(
        "UPDATE exchanges SET status = 'accepted', answered_at = $2 WHERE exchange_id = $1",
        e.exchange_id,
        env.occurred_at,
    )


@cards.on(CardRequestDeclined)
async def declined(e: CardRequestDeclined, env: Envelope, tx: ReadModel) -> Statements:
    return sql(
        "UPDATE exchanges SET status = 'declined', answered_at = $2 WHERE exchange_id = $1",
        e.exchange_id,
        env.occurred_at,
    )
