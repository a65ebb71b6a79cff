"""The trail summary and programme matching (no I/O)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from contracts.programmes import ProgrammeAnnounced
from contracts.vocabulary import Pathway
from services.credential.trail import build_trail
from services.notify.matching import age_on, fits, inbox_message, notification_id


def entry(rid: str, pathway: str, completed: str, **extra: Any) -> dict[str, Any]:
    return {
        "_id": rid,
        "learner_id": "L1",
        "provider_id": "P",
        "pathway": pathway,
        "kind": "course",
        "title": f"Khóa {rid}",
        "result": {"status": "passed"},
        "completed_on": completed,
        **extra,
    }


def test_trail_groups_by_pathway_in_order_with_totals() -> None:
    trail = build_trail(
        "L1",
        "Nguyễn Thị Hương",
        [
            entry("a", "vocational", "2023-03-15", hours=300, vqf_level=1),
            entry("b", "regular", "2024-01-12", credits=3, hours=45, vqf_level=5),
            entry("c", "vocational", "2024-05-01", hours=100, vqf_level=2),
            entry(
                "d", "regular", "2024-06-01", credits=4, vqf_level=6, result={"status": "failed"}
            ),
        ],
    )
    assert [g.pathway for g in trail.pathways] == [Pathway.REGULAR, Pathway.VOCATIONAL]
    assert [e.record_id for e in trail.pathways[1].entries] == ["c", "a"]
    assert (trail.entry_count, trail.total_credits, trail.total_hours) == (4, 7, 445)
    assert trail.highest_vqf_level == 5  # a failed level-6 module does not count
    assert [(y.year, y.entries) for y in trail.per_year] == [(2023, 1), (2024, 3)]
    assert [t.record_id for t in trail.timeline] == ["a", "b", "c", "d"]


def test_an_empty_trail() -> None:
    trail = build_trail("L1", None, [])
    assert trail.entry_count == 0 and trail.pathways == [] and trail.highest_vqf_level is None


def programme(**extra: Any) -> ProgrammeAnnounced:
    base: dict[str, Any] = {
        "programme_id": "PG1",
        "provider_id": "P",
        "title": "Tưới nhỏ giọt",
        "pathway": "vocational",
        "place_codes": ["22735"],
        "how_to_enrol": "Gọi 0259",
        "announced_at": datetime(2026, 11, 1, tzinfo=UTC),
    }
    base.update(extra)
    return ProgrammeAnnounced.model_validate(base)


LEARNER = {"_id": "L1", "commune_code": "22735", "birth_date": "1990-05-14"}
TODAY = date(2026, 11, 27)


def test_a_programme_fits_a_learner_of_its_commune() -> None:
    assert fits(programme(), LEARNER, TODAY)
    assert not fits(programme(), {**LEARNER, "commune_code": "22480"}, TODAY)
    assert not fits(programme(), {**LEARNER, "commune_code": None}, TODAY)


def test_age_range_is_checked_at_the_start_date() -> None:
    assert age_on(date(1990, 5, 14), date(2026, 5, 13)) == 35
    assert fits(programme(min_age=18, max_age=36), LEARNER, TODAY)
    assert not fits(programme(max_age=35), LEARNER, TODAY)
    assert not fits(programme(min_age=40), LEARNER, TODAY)
    assert fits(programme(max_age=35, starts_on=date(2026, 5, 1)), LEARNER, TODAY)


def test_a_finished_programme_fits_no_one() -> None:
    assert not fits(programme(ends_on=date(2026, 1, 1)), LEARNER, TODAY)


def test_messages_in_vietnamese_and_english() -> None:
    title, body = inbox_message(programme(starts_on=date(2027, 2, 1)), "vi")
    assert "Tưới nhỏ giọt" in title and "01/02/2027" in body and "Cách đăng ký" in body
    title, body = inbox_message(programme(), "en")
    assert title.startswith("New programme") and "How to enrol" in body


def test_one_notification_per_learner_programme_and_channel() -> None:
    assert notification_id("L1", "PG1", "inbox") == "L1:PG1:inbox"
    assert notification_id("L1", "PG1", "inbox") != notification_id("L1", "PG1", "email")
