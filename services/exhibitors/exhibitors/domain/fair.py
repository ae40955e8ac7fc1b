"""The online fair's halls (云上展馆): the exhibitions and zones a visitor browses, with their
Chinese and English names, and the services-trade sectors. Fixed data of the fair, no I/O.

An exhibitor is in an exhibition by its placement (`ParticipationChanged.zone`, the code
below), else by the zone of the booth it bought (booths' `BoothSpec.zone_code`); the Digital
Services Zone's exhibitors carry one of its four themes. The eight themed exhibitions at
Shougang are the eight sectors (`themed-<sector>`); the time-honoured brands festival has
four zones of its own. Provinces and regions (HK, Macao and Taiwan among them) and country
exhibitions are browsed by `country_or_region`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import get_args

from .values import DIGITAL_SERVICES_ZONE, Sector


@dataclass(frozen=True)
class Named:
    code: str
    name_zh: str
    name_en: str


@dataclass(frozen=True)
class Exhibition(Named):
    venue: str
    kind: str
    """achievements, regions, countries, digital, themed, festival"""
    parts: tuple[Named, ...] = field(default=())
    """Its themes (Digital Services Zone) or zones (the festival)."""
    sector: Sector | None = None


SECTORS: dict[Sector, Named] = {
    s.code: s  # type: ignore[misc]
    for s in (
        Named(
            "telecom-it", "电信、计算机和信息服务", "Telecommunications, computer and information"
        ),
        Named("finance", "金融服务", "Finance"),
        Named("culture-tourism", "文旅服务", "Culture and tourism"),
        Named("education", "教育服务", "Education"),
        Named("sport", "体育服务", "Sport"),
        Named("health", "健康卫生服务", "Health care"),
        Named("environment", "环境服务", "Environmental services"),
        Named("engineering-consulting", "工程咨询与建筑服务", "Engineering consulting"),
    )
}
assert set(SECTORS) == set(get_args(Sector))

THEMES = (
    Named("governance", "数字治理", "Digital governance"),
    Named("experience", "数字体验", "Digital experience"),
    Named("transformation", "数字转型", "Digital transformation"),
    Named("trust", "数字信任", "Digital trust"),
)

FESTIVAL = "laozihao"
FESTIVAL_ZONES = (
    Named("laozihao-showcase", "精品展示区", "Showcase"),
    Named("laozihao-memories", "时代记忆区", "Memories of the Times"),
    Named("laozihao-creative", "文创新品区", "New Cultural and Creative Products"),
    Named("laozihao-winter-olympics", "冬奥专区", "Winter Olympics"),
)

REGIONS_OF_CHINA = ("CN", "HK", "MO", "TW")
"""The provinces and regions exhibition: the mainland's provinces and HK, Macao and Taiwan."""

EXHIBITIONS: tuple[Exhibition, ...] = (
    Exhibition(
        "achievements",
        "中国服务贸易发展成就展",
        "China Services Trade Achievements",
        venue="cncc",
        kind="achievements",
    ),
    Exhibition(
        "provinces-regions",
        "省区市及港澳台展",
        "Provinces and Regions, HK, Macao and Taiwan",
        venue="cncc",
        kind="regions",
    ),
    Exhibition(
        "country-exhibitions", "国别展", "Country Exhibitions", venue="cncc", kind="countries"
    ),
    Exhibition(
        DIGITAL_SERVICES_ZONE,
        "数字服务专区",
        "Digital Services Zone",
        venue="cncc",
        kind="digital",
        parts=THEMES,
    ),
    *(
        Exhibition(
            f"themed-{code}",
            f"{s.name_zh}专题展",
            f"{s.name_en} Exhibition",
            venue="shougang",
            kind="themed",
            sector=code,
        )
        for code, s in SECTORS.items()
    ),
    Exhibition(
        FESTIVAL,
        "北京老字号古韵节",
        "Beijing Time-honoured Brands Festival",
        venue="shougang",
        kind="festival",
        parts=FESTIVAL_ZONES,
    ),
)
BY_CODE = {e.code: e for e in EXHIBITIONS}


def exhibition_of(zone: str | None) -> str | None:
    """The exhibition a zone code belongs to: a festival zone is in the festival."""
    if zone is None:
        return None
    if any(zone == z.code for z in FESTIVAL_ZONES):
        return FESTIVAL
    return zone
