"""Closed-door meetings (闭门会议): only invitees register, see, get a link or join; a
forwarded link and a revoked invitee are refused; every access decision is an event."""

from __future__ import annotations

import pytest
from support.waiting import eventually

from .conftest import EDITION, Api, at

pytestmark = pytest.mark.infra


async def test_a_non_invitee_cannot_register_list_see_the_link_or_join(api: Api) -> None:
    meeting = await api.published(
        kind="side",
        access="invitation",
        format="hybrid",
        room_code="hall-b",
        starts_at=at(3, 10),
    )
    public = await api.published(kind="side", format="online", starts_at=at(3, 14))
    invited = await api.ok(
        "POST",
        f"/forums/{meeting}/invitations",
        "team",
        json={"person": "envoy-1", "why": "delegation head"},
    )
    assert invited["invited"] is True

    # the invitee registers and gets their own link, and joins with it
    seat = await api.ok("POST", f"/forums/{meeting}/registrations", "envoy-1", json={})
    assert seat["standing"] == "registered"
    link = seat["join_link"]
    assert (await api.ok("POST", link, "envoy-1"))["joined"] is True

    # an outsider: cannot register ...
    register = await api.call("POST", f"/forums/{meeting}/registrations", "outsider", json={})
    assert register.status_code == 403
    assert register.json()["error"]["code"] == "access_refused"
    # ... does not find it listed, nor can open it ...
    agenda = await eventually(
        lambda: api.ok("GET", f"/editions/{EDITION}/agenda", "outsider"),
        lambda rows: public in [r["forum_id"] for r in rows],
        within=30,
        what="the published agenda",
    )
    assert meeting not in [r["forum_id"] for r in agenda]
    assert (await api.call("GET", f"/forums/{meeting}", "outsider")).status_code == 404
    # ... while the invitee and the forums team see it
    await eventually(
        lambda: api.ok("GET", f"/editions/{EDITION}/agenda", "envoy-1"),
        lambda rows: meeting in [r["forum_id"] for r in rows],
        within=30,
        what="the meeting on its invitee's agenda",
    )
    team_view = await api.ok("GET", f"/editions/{EDITION}/agenda", "team")
    assert meeting in [r["forum_id"] for r in team_view]
    # ... gets no link ...
    asked = await api.call("GET", f"/forums/{meeting}/join-link", "outsider")
    assert asked.status_code == 404
    # ... and the invitee's link, forwarded, lets them in no more than their own guess
    forwarded = await api.call("POST", link, "outsider")
    assert forwarded.status_code == 403
    forged = await api.call("POST", f"/forums/{meeting}/join?link=x.y", "outsider")
    assert forged.status_code == 403
    # the attendee list never lists a link
    attendees = await api.ok("GET", f"/forums/{meeting}/attendees", "team")
    assert all("link" not in key for row in attendees for key in row)

    # revoked: the seat, the link and access go
    await api.ok(
        "POST",
        f"/forums/{meeting}/invitations/envoy-1/revoke",
        "team",
        json={"why": "delegation changed"},
    )
    revoked_join = await api.call("POST", link, "envoy-1")
    assert revoked_join.status_code == 403
    assert "revoked" in revoked_join.json()["error"]["message"]
    again = await api.call("POST", f"/forums/{meeting}/registrations", "envoy-1", json={})
    assert again.status_code == 403
    assert (await api.call("GET", f"/forums/{meeting}/join-link", "envoy-1")).status_code == 404

    # every decision is an event with who and why
    log = await eventually(
        lambda: api.ok("GET", f"/forums/{meeting}/access-log", "team"),
        lambda rows: len(rows) >= 9,
        within=30,
        what="the access log",
    )
    decisions = [(r["person"], r["decision"], r["action"]) for r in log]
    assert decisions[:2] == [("envoy-1", "invited", None), ("envoy-1", "joined", "join")]
    assert ("outsider", "refused", "register") in decisions
    assert ("outsider", "refused", "see_link") in decisions
    assert decisions.count(("outsider", "refused", "join")) == 2
    assert ("envoy-1", "revoked", None) in decisions
    assert ("envoy-1", "refused", "join") in decisions
    assert ("envoy-1", "refused", "register") in decisions
    revoked = next(r for r in log if r["decision"] == "revoked")
    assert revoked["actor"] == "user:team-1"
    assert revoked["why"] == "delegation changed"
    forwarded_refusal = next(r for r in log if r["person"] == "outsider" and r["action"] == "join")
    assert "another person" in forwarded_refusal["why"]
    # the outsider sees nothing of the log
    assert (await api.call("GET", f"/forums/{meeting}/access-log", "outsider")).status_code == 404


async def test_only_the_team_or_the_organiser_invites(api: Api) -> None:
    meeting = await api.published(
        kind="side", access="invitation", format="online", starts_at=at(4, 10)
    )
    stranger = await api.call(
        "POST", f"/forums/{meeting}/invitations", "someone", json={"person": "x", "why": "me"}
    )
    assert stranger.status_code == 403
    by_organiser = await api.call(
        "POST",
        f"/forums/{meeting}/invitations",
        "organiser",
        json={"person": "guest-7", "why": "speaker's deputy"},
    )
    assert by_organiser.status_code == 201
