"""Recognition of learning (liên thông) as versioned rules applied to a trail — no I/O.

Rules are data files (``services/credential/rules/*.toml``), one per rule, each with an ``id``
and a ``version``. Three families:

- ``credit_transfer``: units from continuing or vocational education recognised toward a
  regular programme by course-code equivalence, each target unit once (no double counting of
  equivalent units), within caps per year and per programme;
- ``stackable``: short courses of one occupation adding up to a certificate level when their
  hours reach a threshold;
- ``progression``: a set of qualifications that together open progression to a higher level
  (an intermediate diploma plus the continuing-education upper-secondary programme opens
  college).

:func:`evaluate` is a pure function of the rules and the learner's live entries, so the same
trail always yields the same decisions with the same ids: re-applying it after a redelivery
changes nothing, and a decision whose basis was corrected away is simply no longer derived.
"""

from __future__ import annotations

import hashlib
import tomllib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from contracts.vocabulary import GeneralEducationLevel, Pathway, RecordKind

RULES_DIR = Path(__file__).resolve().parent / "rules"
SUCCESS = frozenset({"passed", "completed"})


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    version: str
    title_vi: str
    title_en: str


class Equivalence(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    source_codes: list[str] = Field(min_length=1)
    target_unit: str
    target_title: str
    credits: float = Field(gt=0)


class CreditTransferRule(_Rule):
    family: Literal["credit_transfer"]
    toward: str
    source_pathways: list[Pathway]
    equivalences: list[Equivalence] = Field(min_length=1)
    cap_credits_per_year: float | None = Field(default=None, gt=0)
    cap_credits_total: float | None = Field(default=None, gt=0)


class StackableRule(_Rule):
    family: Literal["stackable"]
    occupation_vi: str
    occupation_en: str
    code_prefixes: list[str] = Field(min_length=1)
    source_pathways: list[Pathway]
    threshold_hours: float = Field(gt=0)
    award_vi: str
    award_en: str
    vqf_level: int | None = Field(default=None, ge=1, le=8)


class Requirement(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    label_vi: str
    label_en: str
    pathway: Pathway
    kinds: list[RecordKind] | None = None
    vqf_level: int | None = Field(default=None, ge=1, le=8)
    general_education_level: GeneralEducationLevel | None = None


class ProgressionRule(_Rule):
    family: Literal["progression"]
    opens_vi: str
    opens_en: str
    toward: str
    requires: list[Requirement] = Field(min_length=2)


RecognitionRule = CreditTransferRule | StackableRule | ProgressionRule
_RULE: TypeAdapter[RecognitionRule] = TypeAdapter(
    Annotated[RecognitionRule, Field(discriminator="family")]
)


@dataclass(frozen=True)
class Decision:
    """One recognition a rule grants, with what it rests on and what it means."""

    recognition_id: str
    rule_id: str
    rule_version: str
    record_ids: tuple[str, ...]
    outcome_vi: str
    outcome_en: str
    toward: str | None
    credits: float | None


def parse_rule(text: str) -> RecognitionRule:
    """A rule from its TOML text; raises ``ValueError`` (pydantic's) when malformed."""
    return _RULE.validate_python(tomllib.loads(text))


def load_rules(
    directory: Path = RULES_DIR,
) -> list[CreditTransferRule | StackableRule | ProgressionRule]:
    """Every rule file in ``directory``, in a stable order; rule ids must be unique."""
    rules = [
        parse_rule(path.read_text(encoding="utf-8")) for path in sorted(directory.glob("*.toml"))
    ]
    ids = [r.id for r in rules]
    if len(ids) != len(set(ids)):
        raise ValueError(f"duplicate rule ids in {directory}: {sorted(ids)}")
    return rules


def recognition_id(learner_id: str, rule: _Rule, key: str) -> str:
    """The same learner, rule version and subject always give the same recognition id."""
    return recognition_id_for(learner_id, rule.id, rule.version, key)


def recognition_id_for(learner_id: str, rule_id: str, version: str, key: str) -> str:
    digest = hashlib.sha256(f"{learner_id}|{rule_id}|{version}|{key}".encode()).hexdigest()
    return f"rcg-{digest[:32]}"


def recognition_subjects(rule: RecognitionRule) -> list[str]:
    """Every subject a rule can decide on, for any learner: with the learner and the rule's
    version, they give every recognition id the rule can ever produce."""
    if isinstance(rule, CreditTransferRule):
        return sorted({e.target_unit for e in rule.equivalences})
    if isinstance(rule, StackableRule):
        return ["award"]
    return ["opens"]


def _succeeded(entry: dict[str, Any]) -> bool:
    return entry.get("result", {}).get("status") in SUCCESS


def _by_date(entries: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(entries, key=lambda e: (e["completed_on"], e["_id"]))


def evaluate(
    rules: Iterable[RecognitionRule],
    learner_id: str,
    entries: list[dict[str, Any]],
) -> list[Decision]:
    """Every recognition the rules grant on this learner's live trail entries."""
    decisions: list[Decision] = []
    for rule in rules:
        if isinstance(rule, CreditTransferRule):
            decisions += _credit_transfer(rule, learner_id, entries)
        elif isinstance(rule, StackableRule):
            decisions += _stackable(rule, learner_id, entries)
        else:
            decisions += _progression(rule, learner_id, entries)
    return decisions


def _credit_transfer(
    rule: CreditTransferRule, learner_id: str, entries: list[dict[str, Any]]
) -> list[Decision]:
    by_code: dict[str, Equivalence] = {}
    for listed in rule.equivalences:
        for code in listed.source_codes:
            by_code[code.casefold()] = listed
    granted_units: set[str] = set()
    per_year: dict[int, float] = defaultdict(float)
    total = 0.0
    decisions = []
    for entry in _by_date(entries):
        code = (entry.get("code") or "").casefold()
        equivalence = by_code.get(code)
        if (
            equivalence is None
            or entry["pathway"] not in rule.source_pathways
            or not _succeeded(entry)
            or equivalence.target_unit in granted_units  # an equivalent unit already counted
        ):
            continue
        year = int(entry["completed_on"][:4])
        if (
            rule.cap_credits_per_year
            and per_year[year] + equivalence.credits > rule.cap_credits_per_year
        ):
            continue
        if rule.cap_credits_total and total + equivalence.credits > rule.cap_credits_total:
            continue
        granted_units.add(equivalence.target_unit)
        per_year[year] += equivalence.credits
        total += equivalence.credits
        decisions.append(
            Decision(
                recognition_id=recognition_id(learner_id, rule, equivalence.target_unit),
                rule_id=rule.id,
                rule_version=rule.version,
                record_ids=(entry["_id"],),
                outcome_vi=(
                    f"Học phần {equivalence.target_title} ({equivalence.target_unit}, "
                    f"{equivalence.credits:g} tín chỉ) của chương trình {rule.toward} được công "
                    f"nhận nhờ khóa «{entry['title']}» đã hoàn thành."
                ),
                outcome_en=(
                    f"The unit {equivalence.target_title} ({equivalence.target_unit}, "
                    f"{equivalence.credits:g} credits) of {rule.toward} is recognised thanks to "
                    f"the completed course «{entry['title']}»."
                ),
                toward=rule.toward,
                credits=equivalence.credits,
            )
        )
    return decisions


def _stackable(
    rule: StackableRule, learner_id: str, entries: list[dict[str, Any]]
) -> list[Decision]:
    prefixes = tuple(p.casefold() for p in rule.code_prefixes)
    counted = [
        e
        for e in _by_date(entries)
        if e["pathway"] in rule.source_pathways
        and _succeeded(e)
        and (e.get("code") or "").casefold().startswith(prefixes)
        and e.get("hours")
    ]
    hours = sum(float(e["hours"]) for e in counted)
    if hours < rule.threshold_hours:
        return []
    return [
        Decision(
            recognition_id=recognition_id(learner_id, rule, "award"),
            rule_id=rule.id,
            rule_version=rule.version,
            record_ids=tuple(e["_id"] for e in counted),
            outcome_vi=(
                f"{len(counted)} khóa ngắn hạn nghề {rule.occupation_vi} với tổng {hours:g} giờ "
                f"(đủ {rule.threshold_hours:g} giờ) được công nhận: {rule.award_vi}."
            ),
            outcome_en=(
                f"{len(counted)} short courses in {rule.occupation_en} totalling {hours:g} hours "
                f"(of {rule.threshold_hours:g} required) are recognised: {rule.award_en}."
            ),
            toward=rule.award_vi,
            credits=None,
        )
    ]


def _meets(requirement: Requirement, entry: dict[str, Any]) -> bool:
    return (
        entry["pathway"] == requirement.pathway
        and _succeeded(entry)
        and (requirement.kinds is None or entry["kind"] in requirement.kinds)
        and (requirement.vqf_level is None or entry.get("vqf_level") == requirement.vqf_level)
        and (
            requirement.general_education_level is None
            or entry.get("general_education_level") == requirement.general_education_level
        )
    )


def _progression(
    rule: ProgressionRule, learner_id: str, entries: list[dict[str, Any]]
) -> list[Decision]:
    basis = []
    for requirement in rule.requires:
        found = next((e for e in _by_date(entries) if _meets(requirement, e)), None)
        if found is None:
            return []
        basis.append((requirement, found))
    met_vi = " và ".join(f"{r.label_vi} («{e['title']}»)" for r, e in basis)
    met_en = " and ".join(f"{r.label_en} («{e['title']}»)" for r, e in basis)
    return [
        Decision(
            recognition_id=recognition_id(learner_id, rule, "opens"),
            rule_id=rule.id,
            rule_version=rule.version,
            record_ids=tuple(e["_id"] for _, e in basis),
            outcome_vi=f"Có {met_vi}: {rule.opens_vi}.",
            outcome_en=f"Holding {met_en}: {rule.opens_en.lower()}.",
            toward=rule.toward,
            credits=None,
        )
    ]
