"""An ad placement (广告位): a place on a channel (the home banner on the website, the splash
screen of the mini-program, the lobby screens at CNCC…), exclusive or shared among up to
`shares` sponsors a day, priced per day in fen."""

from __future__ import annotations

from dataclasses import dataclass, replace

from fairline_events.decider import Fold
from fairline_events.errors import Conflict, NotFound
from fairline_events.registry import DomainEvent

from .commands import DefinePlacement
from .events import PlacementDefined
from .values import Channel, PlacementKind


@dataclass(frozen=True)
class Placement:
    edition_code: str
    placement_code: str
    defined: bool = False
    channel: Channel = "website"
    name: str = ""
    kind: PlacementKind = "exclusive"
    shares: int = 1
    price_per_day_fen: int = 0


def placement_stream(edition_code: str, placement_code: str) -> str:
    return f"placement-{edition_code}:{placement_code}"


def initial(stream_id: str) -> Placement:
    edition_code, placement_code = stream_id.removeprefix("placement-").split(":")
    return Placement(edition_code, placement_code)


def define(command: DefinePlacement, *, placement: Placement) -> list[DomainEvent]:
    """A placement's terms may change, but not its channel (its bookings run there)."""
    if placement.defined and placement.channel != command.channel:
        raise Conflict("a placement keeps its channel", code="channel_fixed")
    same = placement.defined and (
        placement.name,
        placement.kind,
        placement.shares,
        placement.price_per_day_fen,
    ) == (command.name, command.kind, command.shares, command.price_per_day_fen)
    return [] if same else [PlacementDefined(**command.model_dump())]


def known(placement: Placement) -> Placement:
    if not placement.defined:
        raise NotFound(
            f"the edition has no ad placement {placement.placement_code}",
            code="unknown_placement",
            placement=placement.placement_code,
        )
    return placement


def evolve(placement: Placement, event: DomainEvent) -> Placement:
    match event:
        case PlacementDefined():
            return replace(placement, defined=True, channel=event.channel, name=event.name,
                           kind=event.kind, shares=event.shares,
                           price_per_day_fen=event.price_per_day_fen)  # fmt: skip
        case _:
            return placement


PLACEMENT: Fold[Placement] = Fold(initial, evolve)
