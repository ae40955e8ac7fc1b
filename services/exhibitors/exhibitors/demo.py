"""The demo edition (deploy/demo/edition-2021.yaml): the article's companies as exhibitors.

Idempotent: each demo application has a fixed id, and one that exists is left alone.
The companies with a Digital Services Zone theme are approved; forum organisers wait in the
review queue; one launch host is returned for changes, so every queue filter has data.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import yaml
from fairline_events.context import CommandContext
from fairline_events.decider import handle
from fairline_events.service import Runtime

from .api.applications import applications, stream_of
from .domain.commands import (
    ApproveApplication,
    RegisterExhibitor,
    ReturnApplication,
    StartReview,
    SubmitApplication,
)
from .domain.values import CompanyProfile, ContactPerson

THEME_SECTORS = {
    "governance": "digital governance",
    "experience": "digital experience",
    "transformation": "digital transformation",
    "trust": "digital trust",
}


def demo_file() -> Path:
    configured = os.environ.get("FAIRLINE_DEMO_FILE")
    if configured:
        return Path(configured)
    for parent in Path(__file__).resolve().parents:
        candidate = parent / "deploy" / "demo" / "edition-2021.yaml"
        if candidate.exists():
            return candidate
    raise FileNotFoundError("deploy/demo/edition-2021.yaml not found; set FAIRLINE_DEMO_FILE")


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


async def load_demo(runtime: Runtime) -> int:
    assert runtime.store is not None
    store = runtime.store
    data: dict[str, Any] = yaml.safe_load(demo_file().read_text(encoding="utf-8"))
    edition = data["edition"]["code"]
    loader = CommandContext.system("demo-loader", reason="demo edition")
    written = 0
    for company in data["exhibitors_named_in_article"]:
        application_id = f"demo-{_slug(company['name']['en'])}"
        if await store.stream_version(stream_of(application_id)):
            continue
        theme = company.get("theme")
        commands: list[Any] = [
            RegisterExhibitor(
                application_id=application_id,
                applicant=f"demo-{_slug(company['name']['en'])}-staff",
                edition_code=edition,
                company=CompanyProfile(
                    name_zh=company["name"]["zh"],
                    name_en=company["name"]["en"],
                    country_or_region=company["country"],
                    sector=THEME_SECTORS.get(theme, company.get("role", "services")),
                    participation_mode="both" if theme else "online",
                ),
                contact=ContactPerson(
                    name=f"{company['name']['en']} fair desk",
                    email=f"fair@{_slug(company['name']['en'])}.example.com",
                    phone="+86 10 8437 0000",
                ),
            ),
            SubmitApplication(application_id=application_id),
        ]
        if theme:
            commands += [
                StartReview(application_id=application_id, reviewer="demo-reviewer"),
                ApproveApplication(
                    application_id=application_id, reviewer="demo-reviewer", note="demo"
                ),
            ]
        elif company.get("role") == "launch host" and company["name"]["en"] == "Tesla":
            commands += [
                StartReview(application_id=application_id, reviewer="demo-reviewer"),
                ReturnApplication(
                    application_id=application_id,
                    reviewer="demo-reviewer",
                    reason="add the launch programme and the booth contact",
                ),
            ]
        for command in commands:
            _, envelopes = await handle(
                store, applications, stream_of(application_id), command, loader
            )
            written += len(envelopes)
    return written
