"""Inventory, moves, construction review, online packages and revenue, over HTTP."""

from __future__ import annotations

from typing import Any

import pytest
from e2e.booths.harness import (
    EDITION,
    Api,
    ExhibitorFeed,
    add_booths,
    admitted,
    booth_csv,
    open_edition,
    running,
)
from fairline_events.settings import ServiceSettings
from support.waiting import eventually

pytestmark = pytest.mark.infra

E = f"/editions/{EDITION}"


async def import_csv(api: Api, hall: str, text: str) -> Any:
    return await api.call(
        "POST",
        f"{E}/halls/{hall}/booths/import",
        "sales",
        content=text,
        headers={"Content-Type": "text/csv"},
    )


async def test_inventory_contracts_moves_designs_online_and_revenue(
    settings: ServiceSettings,
) -> None:
    async with running(settings) as api:
        await open_edition(api)
        bad = booth_csv(["E1-101", "E1-102"]) + "E1-103,finance,shell_scheme,9,row,90,0,3,3\n"
        bad += "E1-101,digital-trust,tent,0,row,99,0,3,3\n"
        refused = await import_csv(api, "E1", bad)
        assert refused.status_code == 422, refused.text
        error = refused.json()["error"]
        assert error["code"] == "csv_invalid"
        problems = [(p["row"], p["column"]) for p in error["details"]["problems"]]
        assert problems == [(4, "zone"), (5, "type"), (5, "area_m2")]
        assert (await api.call("GET", f"{E}/booths/E1-101", "sales")).status_code == 404

        await add_booths(api, "E1", ["E1-101", "E1-102", "E1-103"])
        await add_booths(api, "SG1", ["SG1-001"], zone="finance", booth_type="raw_space")
        again = await import_csv(api, "E1", booth_csv(["E1-103"]))
        assert again.status_code == 422  # already exists: reported, nothing imported

        feed = ExhibitorFeed(settings)
        await feed.approve("huawei")
        await admitted(api, 1)
        gated = await api.call(
            "POST", f"{E}/booths/SG1-001/hold", "sales", json={"exhibitor_id": "huawei"}
        )
        assert gated.status_code == 422 and gated.json()["error"]["code"] == "hall_not_certified"
        forbidden = await api.call(
            "POST", f"{E}/halls/SG1/certify", "sales", json={"certificate_no": "BJ-1"}
        )
        assert forbidden.status_code == 403
        await api.ok("POST", f"{E}/halls/SG1/certify", "ops", json={"certificate_no": "BJ-1"})

        # a raw-space contract in the park, then moved: re-priced, payments kept
        await api.ok("POST", f"{E}/booths/SG1-001/hold", "sales", json={"exhibitor_id": "huawei"})
        sg = await api.ok("POST", f"{E}/booths/SG1-001/reserve", "sales", json={})
        assert sg["contract"]["price_fen"] == 1_080_000  # 9 m² raw space at 1 200 CNY
        await api.ok(
            "POST",
            f"{E}/booths/SG1-001/payments",
            "sales",
            json={"amount_fen": 1_080_000, "reference": "boc-1"},
        )
        moved = await api.ok(
            "POST",
            f"{E}/booths/SG1-001/move",
            "sales",
            json={"to_booth_code": "E1-103", "reason": "closer to the partners"},
        )
        assert moved["booth_code"] == "E1-103" and moved["status"] == "deposit_paid"
        assert moved["contract"]["price_fen"] == 1_350_000
        assert moved["contract"]["paid_fen"] == 1_080_000
        source = await api.ok("GET", f"{E}/booths/SG1-001", "sales")
        assert source["status"] == "free"

        # construction review of raw space: only for raw space, versioned
        raw = await api.call(
            "POST",
            f"{E}/booths/E1-103/designs",
            "user:huawei-staff",
            json={
                "exhibitor_id": "huawei",
                "contractor": {"name": "Beijing Stands Ltd"},
                "drawings": [{"title": "plan", "url": "https://example.com/plan.pdf"}],
                "materials": [{"name": "bamboo", "low_carbon": True, "reusable": True}],
            },
        )
        assert raw.status_code == 422 and raw.json()["error"]["code"] == "design_not_required"
        await api.ok("POST", f"{E}/booths/SG1-001/hold", "sales", json={"exhibitor_id": "huawei"})
        await api.ok("POST", f"{E}/booths/SG1-001/reserve", "sales", json={})
        design = {
            "exhibitor_id": "huawei",
            "contractor": {"name": "Beijing Stands Ltd", "licence_no": "BJ-77"},
            "drawings": [{"title": "plan", "url": "https://example.com/plan.pdf"}],
            "materials": [
                {"name": "bamboo panels", "low_carbon": True, "reusable": True},
                {"name": "steel truss", "reusable": True},
            ],
        }
        v1 = await api.ok("POST", f"{E}/booths/SG1-001/designs", "user:huawei-staff", json=design)
        assert (v1["status"], v1["version"]) == ("submitted", 1)
        await api.ok(
            "POST",
            f"{E}/booths/SG1-001/designs/1/return",
            "ops",
            json={"comments": "widen the aisle side"},
        )
        await api.ok("POST", f"{E}/booths/SG1-001/designs", "user:huawei-staff", json=design)
        approved = await api.ok("POST", f"{E}/booths/SG1-001/designs/2/approve", "ops", json={})
        assert approved["status"] == "approved" and len(approved["versions"]) == 2
        queue = await eventually(
            lambda: api.ok("GET", f"{E}/designs?status=approved", "ops"),
            lambda q: len(q) == 1,
            within=10,
            what="the approved design in the review queue",
        )
        assert (queue[0]["low_carbon"], queue[0]["reusable"], queue[0]["version"]) == (1, 2, 2)

        # an online package: unbounded, priced by tier
        await api.ok(
            "POST",
            f"{E}/online-packages",
            "sales",
            json={"tier": "A", "name_zh": "A类", "name_en": "Tier A", "features": ["gallery"]},
        )
        order = await api.ok(
            "POST",
            f"{E}/online-booths",
            "user:huawei-staff",
            json={"exhibitor_id": "huawei", "tier": "A"},
        )
        assert order["price_fen"] == 3_000_000 and order["rule_version"] == 1
        unknown = await api.call(
            "POST", f"{E}/online-booths", "sales", json={"exhibitor_id": "huawei", "tier": "Z"}
        )
        assert unknown.status_code in (404, 422)

        # cancel the moved contract: the fee follows the contract's terms
        cancelled = await api.ok(
            "POST", f"{E}/booths/E1-103/cancel", "sales", json={"reason": "budget"}
        )
        assert cancelled["status"] == "free"
        history = await api.ok("GET", f"{E}/booths/E1-103/history", "sales")
        fee = history[-1]["data"]
        assert history[-1]["event_type"] == "booths.ContractCancelled"
        assert (fee["fee_bp"], fee["fee_fen"], fee["refund_due_fen"]) == (1000, 135_000, 945_000)

        def settled(rows: list[dict[str, Any]]) -> bool:
            by_key = {r["key"]: r for r in rows}
            return by_key.keys() >= {"cncc", "shougang", "online"} and bool(
                by_key["cncc"]["cancellation_fees_fen"]
            )

        pipeline = await eventually(
            lambda: api.ok("GET", f"{E}/pipeline?by=venue", "sales"),
            settled,
            within=10,
            what="revenue by venue",
        )
        rows = {r["key"]: r for r in pipeline}
        assert rows["cncc"]["cancellation_fees_fen"] == 135_000
        assert rows["shougang"]["by_status"]["reserved"] == 1
        assert rows["online"]["contracted_fen"] == 3_000_000
        account = await eventually(
            lambda: api.ok("GET", "/exhibitors/huawei/account", "sales"),
            lambda a: len(a["contracts"]) == 3,
            within=10,
            what="three contracts on the account",
        )
        # SG1-001 (1 080 000) + online A (3 000 000) + the fee (135 000) − paid (1 080 000)
        assert account["balance_fen"] == 1_080_000 + 3_000_000 + 135_000 - 1_080_000
