"""The trail without I/O: entries from recorded learning, and the summary a learner reads."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

from pydantic import BaseModel

from contracts import words
from contracts.prior_learning import PriorLearningImported
from contracts.records import LearningRecordRecorded
from contracts.text import STORED
from contracts.vocabulary import Pathway

# The order pathways appear in on a trail: formal first, then the rest of lifelong learning.
PATHWAY_ORDER: tuple[Pathway, ...] = tuple(Pathway)

# The pathway's Vietnamese name, from the one catalogue of words (contracts/words.py).
PATHWAY_NAMES_VI: dict[Pathway, str] = {p: words.label("vi", "pathway", p) for p in Pathway}


def entry_from_record(event: LearningRecordRecorded, event_id: str) -> dict[str, Any]:
    """The stored trail entry for a recorded completion (keyed by its record id)."""
    entry = event.model_dump(mode="json", exclude_none=True)
    entry["_id"] = entry.pop("record_id")
    entry["event_id"] = event_id
    return entry


def entry_from_import(event: PriorLearningImported, event_id: str) -> list[dict[str, Any]]:
    """The stored trail entries of an imported CLR, one per achievement: the other issuer
    stands as the provider, and ``imported`` says where the entry came from."""
    entries = []
    for achievement in event.achievements:
        entry = achievement.model_dump(mode="json", exclude_none=True)
        entry["_id"] = entry.pop("record_id")
        entry["provider_id"] = event.issuer_id
        entry["provider_name"] = event.issuer_name
        entry["event_id"] = event_id
        entry["imported"] = {
            "import_id": event.import_id,
            "clr_id": event.credential_id,
            "credential_id": entry.pop("credential_id"),
            "achievement_id": entry.pop("achievement_id"),
            "issuer_id": event.issuer_id,
        }
        entries.append(entry)
    return entries


class ImportedFrom(BaseModel):
    """Where an imported entry came from: the CLR and credential another issuer signed."""

    import_id: str
    clr_id: str
    credential_id: str
    achievement_id: str
    issuer_id: str


class TrailEntry(BaseModel):
    """One piece of learning on the trail."""

    record_id: str
    provider_id: str
    provider_name: str | None = None
    kind: str
    title: str
    code: str | None = None
    vqf_level: int | None = None
    general_education_level: str | None = None
    field_of_study: str | None = None
    credits: float | None = None
    hours: float | None = None
    result: dict[str, Any]
    started_on: date | None = None
    completed_on: date
    awarded_on: date | None = None
    certificate_number: str | None = None
    imported: ImportedFrom | None = None


class PathwayGroup(BaseModel):
    """The entries of one pathway, newest first, with their totals."""

    pathway: Pathway
    name_vi: str
    entries: list[TrailEntry]
    credits: float
    hours: float


class YearTotals(BaseModel):
    year: int
    entries: int
    credits: float
    hours: float


class RecognitionView(BaseModel):
    """A recognition (liên thông) granted on the trail, in words a learner understands."""

    recognition_id: str
    rule_id: str
    rule_version: str
    outcome_vi: str
    outcome_en: str | None = None
    toward: str | None = None
    credits: float | None = None
    record_ids: list[str]
    granted_at: str


class TimelineItem(BaseModel):
    """One step of the learner's path, in the order it happened."""

    completed_on: date
    record_id: str
    title: str
    pathway: Pathway


class Trail(BaseModel):
    """A learner's whole trail, grouped by pathway, with the recognitions it earned."""

    learner_id: str
    full_name: str | None
    entry_count: int
    total_credits: float
    total_hours: float
    highest_vqf_level: int | None
    pathways: list[PathwayGroup]
    per_year: list[YearTotals]
    timeline: list[TimelineItem] = []
    recognitions: list[RecognitionView] = []


def build_trail(
    learner_id: str,
    full_name: str | None,
    entries: list[dict[str, Any]],
    recognitions: list[dict[str, Any]] | None = None,
) -> Trail:
    """Group stored entries by pathway (in :data:`PATHWAY_ORDER`), add up their totals, and
    list the granted recognitions (oldest first)."""
    by_pathway: dict[Pathway, list[TrailEntry]] = defaultdict(list)
    years: dict[int, YearTotals] = {}
    highest: int | None = None
    for raw in entries:
        entry = TrailEntry.model_validate({**raw, "record_id": raw["_id"]}, context=STORED)
        by_pathway[Pathway(raw["pathway"])].append(entry)
        year = years.setdefault(
            entry.completed_on.year,
            YearTotals(year=entry.completed_on.year, entries=0, credits=0, hours=0),
        )
        year.entries += 1
        year.credits += entry.credits or 0
        year.hours += entry.hours or 0
        if entry.vqf_level is not None and raw["result"]["status"] != "failed":
            highest = max(highest or 0, entry.vqf_level)
    groups = []
    for pathway in PATHWAY_ORDER:
        items = sorted(
            by_pathway.get(pathway, []), key=lambda e: (e.completed_on, e.record_id), reverse=True
        )
        if items:
            groups.append(
                PathwayGroup(
                    pathway=pathway,
                    name_vi=PATHWAY_NAMES_VI[pathway],
                    entries=items,
                    credits=sum(e.credits or 0 for e in items),
                    hours=sum(e.hours or 0 for e in items),
                )
            )
    return Trail(
        learner_id=learner_id,
        full_name=full_name,
        entry_count=sum(len(g.entries) for g in groups),
        total_credits=sum(g.credits for g in groups),
        total_hours=sum(g.hours for g in groups),
        highest_vqf_level=highest,
        pathways=groups,
        per_year=sorted(years.values(), key=lambda y: y.year),
        timeline=sorted(
            (
                TimelineItem(
                    completed_on=e.completed_on,
                    record_id=e.record_id,
                    title=e.title,
                    pathway=g.pathway,
                )
                for g in groups
                for e in g.entries
            ),
            key=lambda t: (t.completed_on, t.record_id),
        ),
        recognitions=sorted(
            (
                RecognitionView.model_validate({**r, "recognition_id": r["_id"]}, context=STORED)
                for r in recognitions or []
                if r.get("state") == "granted"
            ),
            key=lambda r: (r.granted_at, r.recognition_id),
        ),
    )
