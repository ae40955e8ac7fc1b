"""Construction review of raw space (展位搭建审核): designs, versions, reviews, a deadline.

The exhibitor under contract for a raw-space booth submits a design (contractor, drawings,
materials, and whether they are low-carbon or reusable, which the fair promotes as 绿色办会);
a reviewer approves it or returns it with comments; each submission is a new version and
every version is kept. No submissions after the edition's construction deadline.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal, assert_never

from fairline_events.decider import Fold
from fairline_events.errors import Conflict, DomainError, Forbidden
from fairline_events.registry import DomainEvent

from .account import Account, require_acting_for
from .booth import Booth
from .catalogue import Catalogue
from .commands import ApproveDesign, ReturnDesign, SubmitDesign
from .events import DesignApproved, DesignReturned, DesignSubmitted
from .values import EditionStreams

DesignStatus = Literal["none", "submitted", "approved", "returned"]


@dataclass(frozen=True)
class Design:
    edition_code: str
    booth_code: str
    status: DesignStatus = "none"
    versions: tuple[DesignSubmitted, ...] = ()
    last_comments: str = ""

    @property
    def version(self) -> int:
        return len(self.versions)


design_stream = EditionStreams("design")
"""One design stream per raw-space booth, every version in it."""


def initial(stream_id: str) -> Design:
    edition, code = design_stream.parts(stream_id)
    return Design(edition_code=edition, booth_code=code)


def decide(
    command: SubmitDesign | ApproveDesign | ReturnDesign,
    *,
    design: Design,
    booth: Booth,
    account: Account,
    catalogue: Catalogue,
    now: datetime,
) -> list[DomainEvent]:
    ids = {"edition_code": design.edition_code, "booth_code": design.booth_code}
    spec = booth.listed()
    match command:
        case SubmitDesign():
            if spec.booth_type != "raw_space":
                raise DomainError(
                    f"booth {booth.booth_code} is {spec.booth_type}; only raw space is reviewed",
                    code="design_not_required",
                )
            require_acting_for(account, command.by)
            if booth.contract is None or booth.contract.exhibitor_id != command.exhibitor_id:
                raise Forbidden(
                    f"exhibitor {command.exhibitor_id} has no contract for this booth",
                    code="not_your_booth",
                )
            deadline = catalogue.terms.construction_deadline
            if deadline is not None and now.date() > deadline:
                raise DomainError(
                    f"designs were due by {deadline.isoformat()}",
                    code="design_deadline_passed",
                    deadline=deadline.isoformat(),
                )
            if design.status == "submitted":
                raise Conflict(
                    f"version {design.version} is still under review",
                    code="design_under_review",
                    version=design.version,
                )
            return [
                DesignSubmitted(
                    **ids,
                    exhibitor_id=command.exhibitor_id,
                    version=design.version + 1,
                    contractor=command.contractor,
                    drawings=command.drawings,
                    materials=command.materials,
                    note=command.note,
                )
            ]
        case ApproveDesign() | ReturnDesign():
            if design.status != "submitted" or command.version != design.version:
                raise Conflict(
                    f"version {command.version} is not the one waiting for review",
                    code="design_not_pending",
                    current_status=design.status,
                    pending_version=design.version if design.status == "submitted" else None,
                )
            if isinstance(command, ApproveDesign):
                return [
                    DesignApproved(
                        **ids,
                        version=command.version,
                        reviewer=command.reviewer,
                        comments=command.comments,
                    )
                ]
            return [
                DesignReturned(
                    **ids,
                    version=command.version,
                    reviewer=command.reviewer,
                    comments=command.comments,
                )
            ]
        case _:
            assert_never(command)


def evolve(design: Design, event: DomainEvent) -> Design:
    match event:
        case DesignSubmitted():
            return replace(design, status="submitted", versions=(*design.versions, event))
        case DesignApproved():
            return replace(design, status="approved", last_comments=event.comments)
        case DesignReturned():
            return replace(design, status="returned", last_comments=event.comments)
        case _:
            return design


DESIGN = Fold(initial, evolve)
