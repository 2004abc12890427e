"""The flow format: every key does something; timing A/B by variant (R-FL5)."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

from sqlalchemy import select

from bot.app import create_app
from bot.app_keys import SESSIONS
from bot.settings import PROJECT_ROOT
from bot.store.models import Chain
from flows.loader import validate_flows
from tests.conftest import AUTH, make_settings
from tests.touches_fixtures import Shop

FLOW = "flows/recovery/abandoned_checkout.yml"


def _root(tmp_path: Path, edit: Any = None) -> Path:
    root = tmp_path / "root"
    shutil.copytree(PROJECT_ROOT / "flows", root / "flows")
    shutil.copy(PROJECT_ROOT / "domain.yml", root / "domain.yml")
    if edit is not None:
        path = root / FLOW
        path.write_text(edit(path.read_text(encoding="utf-8")), encoding="utf-8")
    return root


def _line_of(root: Path, needle: str) -> int:
    lines = (root / FLOW).read_text(encoding="utf-8").splitlines()
    return next(n for n, line in enumerate(lines, 1) if needle in line)


def test_unknown_keys_are_rejected_with_file_and_line(tmp_path: Path) -> None:
    root = _root(
        tmp_path,
        lambda t: t.replace("variants:", "stop_on: [paid]\nvariants:", 1).replace(
            "    final: true", "    final: true\n    colour: red", 1
        ),
    )
    problems = validate_flows(root)
    path = root / FLOW
    assert any(p.startswith(f"{path}:{_line_of(root, 'stop_on')}:") for p in problems), problems
    assert any(p.startswith(f"{path}:") and "colour" in p for p in problems), problems


def test_windows_bound_the_delays_and_the_variants_delays(tmp_path: Path) -> None:
    root = _root(
        tmp_path,
        lambda t: t.replace("  delay: 150m", "  delay: 5h", 1).replace(
            "    delay: 6h\n", "    delay: 6h\n    delays: {incentive: 10h}\n", 1
        ),
    )
    problems = " | ".join(validate_flows(root))
    assert "delay 5:00:00 is outside its window" in problems
    assert "delays.incentive 10:00:00 is outside its window" in problems


async def test_timing_variants_change_touch_1_and_the_report_compares_them(
    aiohttp_client: Any, tmp_path: Path, db_url: str, clock: Any
) -> None:
    """Seed 000's A/B: touch 1 after 15 vs 45 minutes, chosen per chain and compared."""

    def timing(text: str) -> str:
        text = text.replace("  no_incentive: 50\n  incentive: 50\n", "  control: 50\n  late: 50\n")
        text = text.replace("    delay: abandon_after", "    delay: 15m\n    delays: {late: 45m}")
        return text.replace("    variants:\n      incentive: touch_abandoned_3_incentive\n", "")

    root = _root(tmp_path, timing)
    assert validate_flows(root) == []
    settings = replace(make_settings(tmp_path, db_url), root=root)
    client = await aiohttp_client(
        create_app(settings, clock=clock, run_nlu=False, run_scheduler=False)
    )
    shop = Shop(client)
    for n in range(12):
        await shop.start(f"c{n}", phone=f"+791600000{n:02d}")
    await shop.advance(hours=1)
    async with client.app[SESSIONS]() as session:
        variants = {c.contact_id: c.variant for c in (await session.scalars(select(Chain))).all()}
    assert set(variants.values()) == {"control", "late"}
    for n in range(12):
        first = (await shop.outbox(f"c{n}"))[0]
        expected = {"control": "09:15", "late": "09:45"}[first["touch"]["variant"]]
        assert first["sent_at"] == f"2026-03-02T{expected}:00Z"
    report = await (await client.get("/api/v1/reports/recovery", headers=AUTH)).json()
    flow = next(f for f in report["flows"] if f["flow"] == "abandoned_checkout")
    step = next(s for s in flow["steps"] if s["step"] == "touch_1")
    sent = {v["variant"]: v["sent"] for v in step["variants"]}
    assert set(sent) == {"control", "late"} and sum(sent.values()) == 12
