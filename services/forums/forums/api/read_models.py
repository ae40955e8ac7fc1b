"""Reads, from the programme read model: the published agenda, rooms' schedules, kinds,
attendee lists, a person's own agenda, the forums team's dashboard, the statistics.

Closed-door meetings appear only to their active invitees, their organiser and the forums
team; join links are never listed (each person asks for their own).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from fairline_events.dependencies import Pool
from fairline_events.errors import Forbidden, NotFound
from fairline_events.reads import Stamp, Stamps, answer, read_model_stamps, stamps_of, wants_fresh
from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel

from ..domain.values import PRINTABLE, EditionCode
from ..projections import programme
from .common import Anyone, Team, is_team, row, rows

router = APIRouter(tags=["read models"])

S = programme.schema
ForumId = Path(description="the forum's id", max_length=64, pattern=PRINTABLE)


class AgendaItem(BaseModel):
    forum_id: str
    kind: str
    title_zh: str
    title_en: str
    summary: str
    topics: list[str]
    language: str
    organiser: dict[str, Any]
    speakers: list[dict[str, Any]]
    access: str
    format: str
    venue: str | None
    room_code: str | None
    day: date
    starts_at: datetime
    ends_at: datetime
    capacity: int


_VISIBLE = """(f.access <> 'invitation' OR $2 OR f.proposed_by = $3 OR EXISTS (
    SELECT 1 FROM {s}.invitees i WHERE i.forum_id = f.forum_id AND i.person = $3 AND i.active))"""


_PROGRAMME = "programme"


def _stamps(request: Request) -> Stamps:
    return stamps_of(request, _PROGRAMME, lambda: read_model_stamps([S]))


class _Insiders:
    """Who may see a closed-door meeting (its active invitees, its organiser), read once per
    stamp of the programme: an invitation or a revocation moves the stamp, so it counts at
    once."""

    def __init__(self) -> None:
        self.at: Stamp | None = None
        self.known: frozenset[str] = frozenset()

    async def of(self, pool: Any, stamp: Stamp) -> frozenset[str]:
        if self.at == stamp:
            return self.known
        found = await pool.fetch(
            f"""SELECT person FROM {S}.invitees WHERE active
                UNION SELECT proposed_by FROM {S}.forums WHERE access = 'invitation'"""
        )
        known = frozenset(r["person"] for r in found)
        if self.at is None or stamp.version >= self.at.version:
            self.at, self.known = stamp, known
        return known


def _insiders(request: Request) -> _Insiders:
    state = request.app.state
    found: _Insiders | None = getattr(state, "forums_insiders", None)
    if found is None:
        found = state.forums_insiders = _Insiders()
    return found


_AGENDA = f"""SELECT coalesce(json_agg(json_build_object(
        'forum_id', forum_id, 'kind', kind, 'title_zh', title_zh, 'title_en', title_en,
        'summary', summary, 'topics', topics, 'language', language,
        'organiser', organiser, 'speakers', speakers, 'access', access,
        'format', format, 'venue', venue, 'room_code', room_code, 'day', day,
        'starts_at', starts_at, 'ends_at', ends_at, 'capacity', capacity)
      ORDER BY starts_at, forum_id), '[]')::text
    FROM {S}.forums f
    WHERE edition_code = $1 AND published AND status = 'scheduled'
      AND ($4::date IS NULL OR day = $4) AND ($5::text IS NULL OR venue = $5)
      AND ($6::text IS NULL OR kind = $6) AND ($7::text IS NULL OR $7 = ANY(topics))
      AND ($8::text IS NULL OR language = $8)
      AND {_VISIBLE.format(s=S)}"""


@router.get(
    "/editions/{edition_code}/agenda",
    summary="The published agenda, by day, venue, kind, topic and language",
    description=(
        "Answered with an ETag: a client that sends it back in If-None-Match gets 304 until"
        " the agenda changes."
    ),
    response_model=list[AgendaItem],
    responses={304: {"description": "unchanged since the ETag sent in If-None-Match"}},
)
async def agenda(
    request: Request,
    edition_code: EditionCode,
    who: Anyone,
    pool: Pool,
    day: date | None = None,
    venue: str | None = Query(default=None, max_length=40, pattern=PRINTABLE),
    kind: str | None = Query(default=None, max_length=40, pattern=PRINTABLE),
    topic: str | None = Query(default=None, max_length=60, pattern=PRINTABLE),
    language: str | None = Query(default=None, max_length=40, pattern=PRINTABLE),
) -> Response:
    """Rendered by PostgreSQL (500 forums as JSON cost the database less than the API
    process), once per stamp of the programme and view: visitors share one rendering,
    insiders of closed-door meetings and the forums team each have their own."""
    stamp = await _stamps(request).get(pool, S, fresh=wants_fresh(request))
    team = is_team(who)
    insider = team or who.subject in await _insiders(request).of(pool, stamp)
    view = "team" if team else f"insider:{who.subject}" if insider else "open"
    filters = (edition_code, day, venue, kind, topic, language)

    async def render() -> bytes:
        body: str = await pool.fetchval(
            _AGENDA, edition_code, team, who.subject if insider else "", day, venue, kind,
            topic, language,
        )  # fmt: skip
        return body.encode()

    return await answer(request, stamp, render, variant=f"agenda|{view}|{filters}")


@router.get("/forums/{forum_id}", summary="One forum, as its reader may see it")
async def one_forum(who: Anyone, pool: Pool, forum_id: str = ForumId) -> Any:
    found = await pool.fetchrow(
        f"""SELECT f.*, (SELECT k.policy FROM {S}.kinds k
                  WHERE k.edition_code = f.edition_code AND k.kind = f.kind
                    AND k.version = f.policy_version) AS policy
            FROM {S}.forums f WHERE forum_id = $1 AND {_VISIBLE.format(s=S)}""",
        forum_id,
        is_team(who),
        who.subject,
    )
    if found is None or not (
        found["published"] or is_team(who) or found["proposed_by"] == who.subject
    ):
        raise NotFound(f"no forum {forum_id}", code="unknown_forum")
    return row(found)


@router.get("/editions/{edition_code}/rooms", summary="The edition's rooms, per venue")
async def rooms(edition_code: EditionCode, who: Anyone, pool: Pool) -> list[dict[str, Any]]:
    return rows(
        await pool.fetch(
            f"SELECT * FROM {S}.rooms WHERE edition_code = $1 ORDER BY venue, room_code",
            edition_code,
        )
    )


@router.get(
    "/editions/{edition_code}/kinds",
    summary="The edition's kinds and their policies, every version",
)
async def kinds(edition_code: EditionCode, who: Anyone, pool: Pool) -> list[dict[str, Any]]:
    return rows(
        await pool.fetch(
            f"""SELECT kind, version, policy, set_at FROM {S}.kinds WHERE edition_code = $1
                ORDER BY kind, version""",
            edition_code,
        )
    )


@router.get(
    "/editions/{edition_code}/rooms/{room_code}/schedule",
    summary="What a room holds, day by day (forums team)",
)
async def room_schedule(
    edition_code: EditionCode,
    who: Team,
    pool: Pool,
    room_code: str = Path(max_length=40, pattern=PRINTABLE),
    day: date | None = None,
) -> list[dict[str, Any]]:
    return rows(
        await pool.fetch(
            f"""SELECT forum_id, kind, title_zh, title_en, status, published, access, format,
                       day, starts_at, ends_at, capacity
                FROM {S}.forums WHERE edition_code = $1 AND room_code = $2
                  AND status = 'scheduled' AND ($3::date IS NULL OR day = $3)
                ORDER BY starts_at""",
            edition_code,
            room_code,
            day,
        )
    )


@router.get(
    "/forums/{forum_id}/attendees",
    summary="A forum's attendee list (its organiser and the forums team; no join links)",
)
async def attendees(who: Anyone, pool: Pool, forum_id: str = ForumId) -> Any:
    organiser = await pool.fetchval(
        f"SELECT proposed_by FROM {S}.forums WHERE forum_id = $1", forum_id
    )
    if organiser is None:
        raise NotFound(f"no forum {forum_id}", code="unknown_forum")
    if not is_team(who) and organiser != who.subject:
        raise Forbidden("only the organiser and the forums team see attendees", code="forbidden")
    return rows(
        await pool.fetch(
            f"""SELECT person, standing, claim_until, checked_in_at, joined_at, since,
                       CASE WHEN standing = 'waitlisted' THEN row_number() OVER (
                           PARTITION BY standing = 'waitlisted' ORDER BY line_order) END
                       AS position
                FROM {S}.attendees WHERE forum_id = $1
                ORDER BY standing, line_order NULLS FIRST, since, person""",
            forum_id,
        )
    )


@router.get(
    "/forums/{forum_id}/access-log",
    summary="Every access decision about a forum: invited, joined, refused, revoked",
    tags=["closed-door"],
)
async def access_log(who: Anyone, pool: Pool, forum_id: str = ForumId) -> Any:
    organiser = await pool.fetchval(
        f"SELECT proposed_by FROM {S}.forums WHERE forum_id = $1", forum_id
    )
    if organiser is None or (not is_team(who) and organiser != who.subject):
        raise NotFound(f"no forum {forum_id}", code="unknown_forum")
    return rows(
        await pool.fetch(
            f"""SELECT person, decision, action, why, actor, at FROM {S}.access_log
                WHERE forum_id = $1 ORDER BY at""",
            forum_id,
        )
    )


@router.get("/me/agenda", summary="The caller's own agenda: seats, offers, places in line")
async def my_agenda(edition_code: EditionCode, who: Anyone, pool: Pool) -> list[dict[str, Any]]:
    return rows(
        await pool.fetch(
            f"""SELECT f.forum_id, f.kind, f.title_zh, f.title_en, f.status, f.format, f.venue,
                       f.room_code, f.starts_at, f.ends_at, a.standing, a.claim_until,
                       a.checked_in_at,
                       CASE WHEN a.standing = 'waitlisted' THEN (
                           SELECT count(*) FROM {S}.attendees w WHERE w.forum_id = a.forum_id
                             AND w.standing = 'waitlisted' AND w.line_order <= a.line_order)
                       END AS position
                FROM {S}.attendees a JOIN {S}.forums f USING (forum_id)
                WHERE a.person = $1 AND f.edition_code = $2
                  AND a.standing IN ('registered', 'offered', 'waitlisted')
                ORDER BY f.starts_at, f.forum_id""",
            who.subject,
            edition_code,
        )
    )


@router.get(
    "/editions/{edition_code}/dashboard",
    summary="Capacity and waitlists of every scheduled forum (forums team)",
)
async def dashboard(edition_code: EditionCode, who: Team, pool: Pool) -> list[dict[str, Any]]:
    return rows(
        await pool.fetch(
            f"""SELECT f.forum_id, f.kind, f.title_en, f.status, f.published, f.format,
                       f.venue, f.room_code, f.starts_at, f.capacity,
                       count(*) FILTER (WHERE a.standing = 'registered') AS registered,
                       count(*) FILTER (WHERE a.standing = 'offered') AS offered,
                       count(*) FILTER (WHERE a.standing = 'waitlisted') AS waitlisted,
                       count(a.checked_in_at) AS checked_in,
                       count(a.joined_at) AS joined_online,
                       greatest(f.capacity - count(*) FILTER (
                           WHERE a.standing IN ('registered', 'offered')), 0) AS seats_left
                FROM {S}.forums f LEFT JOIN {S}.attendees a USING (forum_id)
                WHERE f.edition_code = $1 AND f.status = 'scheduled'
                GROUP BY f.forum_id ORDER BY f.starts_at, f.forum_id""",
            edition_code,
        )
    )


@router.get(
    "/editions/{edition_code}/statistics",
    summary="The edition's forum statistics: forums, registrations, attendance by kind",
)
async def statistics(edition_code: EditionCode, who: Team, pool: Pool) -> list[dict[str, Any]]:
    return rows(
        await pool.fetch(
            f"""SELECT f.kind,
                       count(DISTINCT f.forum_id) FILTER (
                           WHERE f.published AND f.status = 'scheduled') AS forums_published,
                       count(DISTINCT f.forum_id) FILTER (
                           WHERE f.status = 'cancelled') AS forums_cancelled,
                       count(DISTINCT f.forum_id) AS forums_proposed,
                       count(a.person) FILTER (WHERE a.standing = 'registered') AS registrations,
                       count(a.person) FILTER (WHERE a.standing = 'waitlisted') AS waitlisted,
                       count(a.person) FILTER (
                           WHERE a.checked_in_at IS NOT NULL OR a.joined_at IS NOT NULL)
                           AS attended
                FROM {S}.forums f LEFT JOIN {S}.attendees a USING (forum_id)
                WHERE f.edition_code = $1 GROUP BY f.kind ORDER BY f.kind""",
            edition_code,
        )
    )
