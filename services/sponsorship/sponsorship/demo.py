"""The demo edition (deploy/demo/edition-2021.yaml): its sponsorship tiers and ad placements.

Tiers come from the yaml's `sponsorship.tiers` (strategic partner, platinum, gold,
designated supplier) with the terms a commercial team would set (demo figures: quantity,
exclusivity, list price, benefits); placements from `sponsorship.ad_placements`, per channel,
priced per day (on-site screens and the home carousel rotate sponsors; banners and the splash
screen run one sponsor a day).

Idempotent: a tier or placement with the same terms appends nothing the second time.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml
from fairline_events.context import CommandContext
from fairline_events.service import Runtime
from fairline_events.values import slug

from .domain.commands import DefinePlacement, DefineTier
from .domain.events import Benefit
from .handlers import define_placement, define_tier

YUAN = 100
"""Fen per yuan."""

TIER_TERMS: dict[str, dict[str, Any]] = {
    "strategic-partner": {
        "quantity": 5, "exclusivity": "edition", "price_fen": 5_000_000 * YUAN,
        "benefits": [
            Benefit(kind="logo", detail="main backdrop, website header, all print"),
            Benefit(kind="launch_slot", detail="45 minutes at the CNCC launch hall"),
            Benefit(kind="speaking_slot", quantity=2, detail="summit and one themed forum"),
            Benefit(kind="hotel_rooms", quantity=20, detail="three nights, fair hotel"),
            Benefit(kind="booth_discount", quantity=30, detail="percent off raw space"),
            Benefit(kind="tickets", quantity=100, detail="VIP passes, every day"),
        ],
    },
    "platinum": {
        "quantity": 8, "exclusivity": "tier", "price_fen": 2_000_000 * YUAN,
        "benefits": [
            Benefit(kind="logo", detail="website sponsors' wall, hall signage"),
            Benefit(kind="speaking_slot", detail="one themed forum"),
            Benefit(kind="hotel_rooms", quantity=10, detail="three nights"),
            Benefit(kind="booth_discount", quantity=20, detail="percent off raw space"),
            Benefit(kind="tickets", quantity=50, detail="trade passes"),
        ],
    },
    "gold": {
        "quantity": 15, "exclusivity": "tier", "price_fen": 800_000 * YUAN,
        "benefits": [
            Benefit(kind="logo", detail="website sponsors' wall"),
            Benefit(kind="booth_discount", quantity=10, detail="percent off raw space"),
            Benefit(kind="tickets", quantity=20, detail="trade passes"),
        ],
    },
    "designated-supplier": {
        "quantity": 20, "exclusivity": "tier", "price_fen": 300_000 * YUAN,
        "benefits": [
            Benefit(kind="logo", detail="suppliers' page on the website"),
            Benefit(kind="tickets", quantity=10, detail="trade passes"),
        ],
    },
}  # fmt: skip

PLACEMENT_TERMS: dict[str, dict[str, Any]] = {
    "home-banner": {"kind": "exclusive", "price_per_day_fen": 80_000 * YUAN},
    "exhibition-hall-banner": {"kind": "exclusive", "price_per_day_fen": 30_000 * YUAN},
    "splash-screen": {"kind": "exclusive", "price_per_day_fen": 120_000 * YUAN},
    "home-carousel": {"kind": "shared", "shares": 5, "price_per_day_fen": 20_000 * YUAN},
    "cncc-lobby-screens": {"kind": "shared", "shares": 6, "price_per_day_fen": 15_000 * YUAN},
    "shougang-shuttle-stops": {"kind": "shared", "shares": 4, "price_per_day_fen": 8_000 * YUAN},
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


async def load_demo(runtime: Runtime) -> int:
    assert runtime.store is not None
    data: dict[str, Any] = yaml.safe_load(demo_file().read_text(encoding="utf-8"))
    edition = data["edition"]["code"]
    sponsorship = data.get("sponsorship", {})
    context = CommandContext(actor="system:demo", reason="demo edition")
    written = 0
    for name in sponsorship.get("tiers", {}).get("demo", []):
        code = slug(name)
        terms = TIER_TERMS.get(code, {"quantity": 10, "price_fen": 100_000 * YUAN})
        command = DefineTier(edition_code=edition, tier_code=code, name=name, **terms)
        written += len((await define_tier(runtime.store, command, context)).events)
    for entry in sponsorship.get("ad_placements", []):
        code = slug(entry["placement"])
        terms = PLACEMENT_TERMS.get(code, {"price_per_day_fen": 10_000 * YUAN})
        placement = DefinePlacement(
            edition_code=edition, placement_code=code, channel=entry["channel"],
            name=entry["placement"], **terms,
        )  # fmt: skip
        written += len((await define_placement(runtime.store, placement, context)).events)
    return written
