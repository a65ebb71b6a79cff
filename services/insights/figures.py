"""The department's indicators, each defined once, and how they are counted — no I/O.

The figures are computed from the facts the projection keeps (:mod:`services.insights.facts`)
when asked for, so a correction, revocation or merge that arrived late is simply part of the
state: the latest version of each record counts, a revoked record counts nowhere, a merged
learner counts once, under the learner they live on as.

Where a learner is: the commune of their current profile (``learners.v1``), read through the
unit catalogue — a pre-reform commune code counts under its successor, and under its own old
district when figures are shown by old district. A learner with no commune counts in the
department's totals only.

Who is an adult: 15 or older on the last day of the period (the age the labour statistics
count from). Age bands are taken on the same day. Sex: as a training centre recorded it when
the learner first became known (``learners.v1``, optional); a learner whose sex no centre
recorded counts in the totals and in no sex cell.

Privacy: every cell that counts people says how many distinct people stand behind it; below
province level — a figure for a commune or an old district, or a breakdown by them — a cell of
fewer than :data:`SMALLEST_CELL` people is shown as ``"<5"``, never as its number. No figure
carries a person's name or id.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from contracts.dates import day_in_vietnam
from services.common.merges import final_survivors
from services.insights.facts import (
    CREDENTIAL_VERSIONS,
    DELIVERIES,
    LEARNER_VERSIONS,
    MERGES,
    PROGRAMME_VERSIONS,
    RECOGNITION_VERSIONS,
    RECORD_REVOCATIONS,
    RECORD_VERSIONS,
    VERIFICATIONS,
    latest,
)
from services.insights.units import Catalogue, Level, Unit

SMALLEST_CELL = 5
SUPPRESSED = "<5"
ADULT_AGE = 15
COMPLETED = frozenset({"passed", "completed"})
Value = float | int | str  # a number, or SUPPRESSED

# ---------------------------------------------------------------------------- periods

_PERIOD = re.compile(r"^(?P<year>\d{4})(?:-(?:Q(?P<quarter>[1-4])|(?P<month>0[1-9]|1[0-2])))?$")


@dataclass(frozen=True)
class Period:
    """A calendar month (``2026-07``), quarter (``2026-Q3``) or year (``2026``)."""

    label: str
    start: date
    end: date  # inclusive

    @classmethod
    def parse(cls, text: str) -> Period:
        """The period a label names; ``ValueError`` saying the accepted forms otherwise."""
        found = _PERIOD.fullmatch(text.strip())
        if found is None:
            raise ValueError(
                f"{text!r} is not a period: write a year (2026), a quarter (2026-Q3) "
                "or a month (2026-07)"
            )
        year = int(found["year"])
        if found["quarter"]:
            first = 3 * int(found["quarter"]) - 2
            return cls(text.strip(), date(year, first, 1), _month_end(year, first + 2))
        if found["month"]:
            month = int(found["month"])
            return cls(text.strip(), date(year, month, 1), _month_end(year, month))
        return cls(text.strip(), date(year, 1, 1), date(year, 12, 31))

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end

    def months(self) -> list[Period]:
        """The months of the period, in order (for trends)."""
        found = []
        year, month = self.start.year, self.start.month
        while date(year, month, 1) <= self.end:
            found.append(Period.parse(f"{year}-{month:02d}"))
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return found

    def year(self) -> Period:
        return Period.parse(str(self.start.year))


def _month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def local_day(moment: str) -> date:
    """The date in Vietnam of an ISO timestamp."""
    return day_in_vietnam(datetime.fromisoformat(moment))


# ---------------------------------------------------------------------------- indicators

GROUPS: dict[str, tuple[str, str]] = {
    "learning": ("Học tập suốt đời", "Lifelong learning"),
    "pathways": ("Theo loại hình học tập", "By pathway"),
    "credentials": ("Công nhận và văn bằng số", "Recognition and credentials"),
    "programmes": ("Chương trình học tập", "Programmes"),
    "society": ("Xã hội học tập", "Learning society"),
}

DIMENSIONS: dict[str, tuple[str, str]] = {
    "province": ("Tỉnh, thành phố", "Province"),
    "commune": ("Xã, phường", "Commune"),
    "old_district": ("Huyện cũ (trước 01/7/2025)", "Former district (before 1 July 2025)"),
    "pathway": ("Loại hình học tập", "Pathway"),
    "provider": ("Cơ sở đào tạo", "Training centre"),
    "level": ("Trình độ", "Level"),
    "age_band": ("Nhóm tuổi", "Age band"),
    "sex": ("Giới tính", "Sex"),
    "rule": ("Quy tắc công nhận", "Recognition rule"),
}

# "sex" only where a centre recorded it (learners.v1's optional ``sex``): a learner whose
# sex is not known is in the totals and in no sex cell, so the cells may sum to less
PEOPLE_DIMENSIONS = ("commune", "old_district", "pathway", "provider", "level", "age_band", "sex")


@dataclass(frozen=True)
class Indicator:
    """One indicator: its id, names, how it is counted, and how it can be broken down."""

    id: str
    group: str
    name_vi: str
    name_en: str
    counting_vi: str
    counting_en: str
    measure: str  # people, records, hours, credits, programmes, percent
    dimensions: tuple[str, ...] = PEOPLE_DIMENSIONS


INDICATORS: tuple[Indicator, ...] = (
    Indicator(
        "learners_with_learning",
        "learning",
        "Số người có kết quả học tập",
        "Learners with any learning",
        "Số người (không trùng) có ít nhất một kết quả học tập, đạt hay không, hoàn thành "
        "trong kỳ; kết quả đã thu hồi không tính; người đã gộp tính một lần.",
        "Distinct people with at least one learning result completed in the period, passed or "
        "not; revoked records excluded; merged learners counted once.",
        "people",
    ),
    Indicator(
        "completions",
        "learning",
        "Số kết quả hoàn thành",
        "Completions",
        "Số kết quả học tập đạt hoặc hoàn thành trong kỳ (theo ngày hoàn thành), theo nội "
        "dung mới nhất sau đính chính; kết quả đã thu hồi không tính.",
        "Learning results passed or completed in the period (by completion date), as last "
        "corrected; revoked records excluded.",
        "records",
    ),
    Indicator(
        "hours",
        "learning",
        "Số giờ học",
        "Hours of learning",
        "Tổng số giờ của các kết quả hoàn thành trong kỳ (kết quả không ghi giờ tính 0).",
        "Sum of the hours of the completions in the period (none given counts 0).",
        "hours",
    ),
    Indicator(
        "credits",
        "learning",
        "Số tín chỉ",
        "Credits",
        "Tổng số tín chỉ của các kết quả hoàn thành trong kỳ.",
        "Sum of the credits of the completions in the period.",
        "credits",
    ),
    Indicator(
        "literacy_completions",
        "pathways",
        "Hoàn thành xóa mù chữ",
        "Literacy completions",
        "Kết quả hoàn thành thuộc loại hình xóa mù chữ, phổ cập giáo dục trong kỳ.",
        "Completions in the literacy pathway in the period.",
        "records",
    ),
    Indicator(
        "continuing_results",
        "pathways",
        "Kết quả giáo dục thường xuyên",
        "Continuing-education results",
        "Kết quả hoàn thành thuộc giáo dục thường xuyên trong kỳ.",
        "Completions in the continuing-education pathway in the period.",
        "records",
    ),
    Indicator(
        "continuing_recognised",
        "pathways",
        "Kết quả GDTX được công nhận (liên thông)",
        "Continuing-education results recognised",
        "Trong các kết quả GDTX hoàn thành trong kỳ, số kết quả mà ít nhất một quyết định công "
        "nhận còn hiệu lực dựa vào; theo quy tắc công nhận.",
        "Of the continuing-education completions in the period, those at least one standing "
        "recognition decision rests on; by recognition rule.",
        "records",
        (*PEOPLE_DIMENSIONS, "rule"),
    ),
    Indicator(
        "in_service_completions",
        "pathways",
        "Bồi dưỡng theo vị trí việc làm",
        "In-service training completions",
        "Kết quả hoàn thành bồi dưỡng theo vị trí việc làm, chức danh, ngạch trong kỳ; theo cơ "
        "sở đào tạo.",
        "In-service (job position, title, grade) completions in the period; by training body.",
        "records",
    ),
    Indicator(
        "vocational_certificates",
        "pathways",
        "Chứng chỉ, văn bằng nghề",
        "Vocational certificates",
        "Kết quả giáo dục nghề nghiệp hoàn thành trong kỳ là chứng chỉ hoặc văn bằng.",
        "Vocational completions in the period that are a certificate or a diploma.",
        "records",
    ),
    Indicator(
        "online_completions",
        "pathways",
        "Hoàn thành học trực tuyến, từ xa",
        "Online and distance completions",
        "Kết quả hoàn thành thuộc loại hình học trực tuyến, đào tạo từ xa trong kỳ.",
        "Completions in the online and distance pathway in the period.",
        "records",
    ),
    Indicator(
        "recognitions_granted",
        "credentials",
        "Quyết định công nhận (liên thông)",
        "Recognitions granted",
        "Quyết định công nhận kết quả học tập được đưa ra trong kỳ và còn hiệu lực.",
        "Recognition decisions granted in the period and still standing.",
        "records",
        ("commune", "old_district", "age_band", "sex", "rule"),
    ),
    Indicator(
        "credentials_issued",
        "credentials",
        "Văn bằng số đã cấp",
        "Credentials issued",
        "Chứng nhận số (CLR) cấp trong kỳ và chưa bị thu hồi.",
        "Digital credentials (CLR) issued in the period and not revoked.",
        "records",
        ("commune", "old_district", "age_band", "sex"),
    ),
    Indicator(
        "credentials_verified",
        "credentials",
        "Văn bằng số được xác minh",
        "Credentials verified",
        "Số chứng nhận số (CLR) do hệ thống cấp được ai đó xác minh ít nhất một lần trong kỳ "
        "(qua mã QR, trang xác minh hoặc API); mỗi chứng nhận tính một lần dù xác minh nhiều "
        "lần, theo nơi ở của người được cấp.",
        "Digital credentials (CLR) issued here that someone verified at least once in the "
        "period (QR link, the verification page or the API); each counted once however often "
        "checked, at the holder's commune.",
        "records",
        ("commune", "old_district", "age_band", "sex"),
    ),
    Indicator(
        "programmes_announced",
        "programmes",
        "Chương trình được thông báo",
        "Programmes announced",
        "Chương trình học tập được thông báo trong kỳ và chưa rút lại; một chương trình ở "
        "nhiều xã được tính ở mỗi xã, một lần ở tổng.",
        "Programmes announced in the period and not withdrawn; one offered in several "
        "communes counts in each, and once in the total.",
        "programmes",
        ("commune", "pathway", "provider"),
    ),
    Indicator(
        "learners_reached",
        "programmes",
        "Người học được thông tin chương trình",
        "Learners reached by programmes",
        "Số người (không trùng) đã nhận được ít nhất một thông báo về chương trình trong kỳ.",
        "Distinct people delivered at least one message about a programme in the period.",
        "people",
        ("commune", "old_district", "age_band", "sex"),
    ),
    Indicator(
        "adult_share",
        "society",
        "Tỷ lệ người lớn có học tập trong năm",
        "Share of adults with learning in the year",
        "Số người từ 15 tuổi có kết quả học tập trong năm của kỳ, chia cho dân số từ 15 tuổi "
        "Sở nhập cho xã năm đó (%); chỉ tính các xã đã có số dân.",
        "People aged 15 or more with learning in the period's year, over the adult population "
        "the department entered for the commune and year (%); communes without one left out.",
        "percent",
        ("commune",),
    ),
)

BY_ID = {indicator.id: indicator for indicator in INDICATORS}
TREND_INDICATORS = ("learners_with_learning", "completions")

# ---------------------------------------------------------------------------- state


@dataclass(frozen=True)
class Learner:
    commune: str | None  # post-reform commune, or None
    old_district: str | None
    birth_date: date | None
    sex: str | None = None  # female, male, or None where no centre recorded it


@dataclass(frozen=True)
class RecordState:
    record_id: str
    learner: str
    provider: str
    pathway: str
    kind: str
    level: str
    credits: float
    hours: float
    completed: bool
    completed_on: date


@dataclass
class State:
    """What counts now: every fact resolved to its latest, merged, unrevoked version."""

    learners: dict[str, Learner] = field(default_factory=dict)
    records: list[RecordState] = field(default_factory=list)
    recognised: dict[str, set[str]] = field(default_factory=dict)  # record → rules
    recognitions: list[tuple[str, str, date]] = field(default_factory=list)  # learner, rule, day
    credentials: list[tuple[str, date]] = field(default_factory=list)  # learner, day
    verified: list[tuple[str, str, date]] = field(default_factory=list)  # learner, credential, day
    programmes: list[tuple[str, str, list[str], date]] = field(default_factory=list)
    reached: list[tuple[str, date]] = field(default_factory=list)  # learner, day
    providers: dict[str, str] = field(default_factory=dict)  # training centre id → name


def _level(fact: Mapping[str, Any]) -> str:
    if fact.get("vqf_level"):
        return f"vqf-{fact['vqf_level']}"
    return str(fact.get("general_education_level") or "none")


def resolve(facts: Mapping[str, Sequence[Mapping[str, Any]]], catalogue: Catalogue) -> State:
    """The state the figures count, from the stored facts."""
    state = State()
    final = final_survivors({m["_id"]: m["into"] for m in facts.get(MERGES, [])})

    def survivor(learner: str) -> str:
        return final.get(learner, learner)

    profiles: dict[str, list[Mapping[str, Any]]] = {}
    for version in facts.get(LEARNER_VERSIONS, []):
        profiles.setdefault(version["learner_id"], []).append(version)
    for learner, versions in profiles.items():
        if learner in final:
            continue  # a merged learner's place is the survivor's
        profile = latest(versions)
        raw = profile.get("commune_code")
        state.learners[learner] = Learner(
            catalogue.commune(raw),
            catalogue.old_district_of(raw),
            date.fromisoformat(profile["birth_date"]) if profile.get("birth_date") else None,
            profile.get("sex"),
        )
    for learner, versions in profiles.items():  # a survivor known only by a merged profile
        if learner in final and survivor(learner) not in state.learners:
            profile = latest(versions)
            raw = profile.get("commune_code")
            state.learners[survivor(learner)] = Learner(
                catalogue.commune(raw),
                catalogue.old_district_of(raw),
                date.fromisoformat(profile["birth_date"]),
                profile.get("sex"),
            )
    revoked = {r["_id"] for r in facts.get(RECORD_REVOCATIONS, [])}
    versions_of: dict[str, list[Mapping[str, Any]]] = {}
    for version in facts.get(RECORD_VERSIONS, []):
        if version["record_id"] not in revoked:
            versions_of.setdefault(version["record_id"], []).append(version)
    for record_id, versions in versions_of.items():
        fact = latest(versions)
        for version in versions:
            if version.get("provider_name"):
                state.providers[version["provider_id"]] = version["provider_name"]
        state.records.append(
            RecordState(
                record_id,
                survivor(fact["learner_id"]),
                fact["provider_id"],
                fact["pathway"],
                fact["kind"],
                _level(fact),
                float(fact.get("credits") or 0),
                float(fact.get("hours") or 0),
                fact["status"] in COMPLETED,
                date.fromisoformat(fact["completed_on"]),
            )
        )
    decisions: dict[str, list[Mapping[str, Any]]] = {}
    for version in facts.get(RECOGNITION_VERSIONS, []):
        decisions.setdefault(version["recognition_id"], []).append(version)
    for versions in decisions.values():
        current = latest(versions)
        if current["state"] != "granted":
            continue
        for record_id in current["record_ids"]:
            state.recognised.setdefault(record_id, set()).add(current["rule_id"])
        state.recognitions.append(
            (survivor(current["learner_id"]), current["rule_id"], local_day(current["at"]))
        )
    issued: dict[str, list[Mapping[str, Any]]] = {}
    for version in facts.get(CREDENTIAL_VERSIONS, []):
        issued.setdefault(version["credential_id"], []).append(version)
    for versions in issued.values():
        if any(v["state"] == "revoked" for v in versions):
            continue
        first = min(versions, key=lambda v: v["at"])
        state.credentials.append((survivor(first["learner_id"]), local_day(first["at"])))
    programmes: dict[str, list[Mapping[str, Any]]] = {}
    for version in facts.get(PROGRAMME_VERSIONS, []):
        programmes.setdefault(version["programme_id"], []).append(version)
    for versions in programmes.values():
        if any(v["state"] == "withdrawn" for v in versions):
            continue
        current = latest(versions)
        state.programmes.append(
            (
                current["provider_id"],
                current["pathway"],
                list(current["place_codes"]),
                local_day(current["announced_at"]),
            )
        )
    for check in facts.get(VERIFICATIONS, []):
        state.verified.append(
            (
                survivor(check["learner_id"]),
                check["credential_id"],
                date.fromisoformat(check["day"]),
            )
        )
    for delivery in facts.get(DELIVERIES, []):
        if delivery["about"] == "programme":
            state.reached.append((survivor(delivery["learner_id"]), local_day(delivery["at"])))
    return state


# ---------------------------------------------------------------------------- counting


def age_band(birth: date | None, on: date) -> str:
    """The age band on a day: under 15, 15–24, 25–34, 35–44, 45–59, 60 and over."""
    if birth is None:
        return "unknown"
    age = on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))
    for top, band in ((15, "0-14"), (25, "15-24"), (35, "25-34"), (45, "35-44"), (60, "45-59")):
        if age < top:
            return band
    return "60+"


@dataclass
class Tally:
    value: float = 0.0
    people: set[str] = field(default_factory=set)

    def add(self, learner: str, amount: float) -> None:
        self.value += amount
        self.people.add(learner)


@dataclass(frozen=True)
class Scope:
    """Whose figures: everything (``unit`` None), a province, an old district or a commune."""

    unit: Unit | None

    @property
    def below_province(self) -> bool:
        return self.unit is not None and self.unit.level is not Level.PROVINCE

    def holds(self, learner: Learner, catalogue: Catalogue) -> bool:
        if self.unit is None:
            return True
        if self.unit.level is Level.COMMUNE:
            return learner.commune == self.unit.code
        if self.unit.level is Level.OLD_DISTRICT:
            return learner.old_district == self.unit.code
        return learner.commune is not None and (
            catalogue.province_of(learner.commune) == self.unit.code
        )


NOWHERE = Learner(None, None, None)
SEX_LABELS = {"female": ("Nữ", "Female"), "male": ("Nam", "Male")}


class Counter:
    """Tallies of one indicator: its total and each breakdown's cells."""

    def __init__(self, indicator: Indicator) -> None:
        self.indicator = indicator
        self.total = Tally()
        self.cells: dict[str, dict[str, Tally]] = {d: {} for d in indicator.dimensions}

    def add(self, learner: str, amount: float, keys: Mapping[str, str | None]) -> None:
        self.total.add(learner, amount)
        # the hottest loop of a report (every record × indicator × breakdown): Tally.add
        # inlined, and no Tally made for a cell that has one
        for dimension, cells in self.cells.items():
            key = keys.get(dimension)
            if key is not None:
                tally = cells.get(key)
                if tally is None:
                    tally = cells[key] = Tally()
                tally.value += amount
                tally.people.add(learner)


def _amount(indicator: Indicator, record: RecordState) -> float:
    if indicator.measure == "hours":
        return record.hours
    if indicator.measure == "credits":
        return record.credits
    if indicator.measure == "people":
        return 0.0
    return 1.0


RECORD_TESTS: dict[str, Callable[[RecordState, State], bool]] = {
    "learners_with_learning": lambda r, s: True,
    "completions": lambda r, s: r.completed,
    "hours": lambda r, s: r.completed,
    "credits": lambda r, s: r.completed,
    "literacy_completions": lambda r, s: r.completed and r.pathway == "literacy",
    "continuing_results": lambda r, s: r.completed and r.pathway == "continuing",
    "continuing_recognised": lambda r, s: (
        r.completed and r.pathway == "continuing" and r.record_id in s.recognised
    ),
    "in_service_completions": lambda r, s: r.completed and r.pathway == "in_service",
    "vocational_certificates": lambda r, s: (
        r.completed and r.pathway == "vocational" and r.kind in ("certificate", "diploma")
    ),
    "online_completions": lambda r, s: r.completed and r.pathway == "online",
}


def _person_keys(learner: Learner, catalogue: Catalogue, on: date) -> dict[str, str | None]:
    """Where a learner is counted, their age band on ``on`` and their sex where known."""
    return {
        **_place_keys(learner, catalogue),
        "age_band": age_band(learner.birth_date, on),
        "sex": learner.sex,
    }


def _place_keys(learner: Learner, catalogue: Catalogue) -> dict[str, str | None]:
    return {
        "commune": learner.commune,
        "old_district": learner.old_district,
        "province": catalogue.province_of(learner.commune) if learner.commune else None,
    }


def count(
    state: State,
    catalogue: Catalogue,
    period: Period,
    scope: Scope,
    populations: Mapping[tuple[str, int], int] | None = None,
) -> tuple[dict[str, Counter], dict[str, dict[str, Tally]]]:
    """Every indicator's tallies for the period and scope (nothing suppressed yet), and the
    monthly totals of the trend indicators."""
    counters = {i.id: Counter(i) for i in INDICATORS}
    trends: dict[str, dict[str, Tally]] = {
        k: {m.label: Tally() for m in period.months()} for k in TREND_INDICATORS
    }
    if scope.unit is None:
        for counter in counters.values():
            if "commune" in counter.cells:
                counter.cells = {"province": {}, **counter.cells}
    end = period.end
    year = period.year()
    adults_learning: dict[str, set[str]] = {}
    # what a learner contributes is the same for each of their records: worked out once each
    seen: dict[str, tuple[bool, bool, dict[str, str | None]] | None] = {}

    def about(learner_id: str) -> tuple[bool, bool, dict[str, str | None]] | None:
        if learner_id not in seen:
            learner = state.learners.get(learner_id, NOWHERE)
            if not scope.holds(learner, catalogue):
                seen[learner_id] = None
            else:
                adult = bool(learner.commune) and age_band(learner.birth_date, year.end) not in (
                    "0-14",
                    "unknown",
                )
                keys = _person_keys(learner, catalogue, end)
                seen[learner_id] = (True, adult, keys)
        return seen[learner_id]

    for record in state.records:
        known = about(record.learner)
        if known is None:
            continue
        _, adult, learner_keys = known
        if adult and year.contains(record.completed_on):
            commune = learner_keys["commune"]
            assert commune is not None
            adults_learning.setdefault(commune, set()).add(record.learner)
        if not period.contains(record.completed_on):
            continue
        keys: dict[str, str | None] = {
            **learner_keys,
            "pathway": record.pathway,
            "provider": record.provider,
            "level": record.level,
            "rule": None,
        }
        month = f"{record.completed_on.year}-{record.completed_on.month:02d}"
        for indicator_id, test in RECORD_TESTS.items():
            if test(record, state):
                indicator = BY_ID[indicator_id]
                amount = _amount(indicator, record)
                if indicator_id in trends:
                    trends[indicator_id][month].add(record.learner, amount)
                if indicator_id == "continuing_recognised":
                    for rule in sorted(state.recognised[record.record_id]):
                        counters[indicator_id].cells["rule"].setdefault(rule, Tally()).add(
                            record.learner, 1.0
                        )
                counters[indicator_id].add(record.learner, amount, keys)
    for learner_id, rule, day in state.recognitions:
        learner = state.learners.get(learner_id, NOWHERE)
        if period.contains(day) and scope.holds(learner, catalogue):
            keys = {**_person_keys(learner, catalogue, end), "rule": rule}
            counters["recognitions_granted"].add(learner_id, 1.0, keys)
    for learner_id, day in state.credentials:
        learner = state.learners.get(learner_id, NOWHERE)
        if period.contains(day) and scope.holds(learner, catalogue):
            keys = _person_keys(learner, catalogue, end)
            counters["credentials_issued"].add(learner_id, 1.0, keys)
    checked: set[str] = set()
    for learner_id, credential_id, day in state.verified:
        learner = state.learners.get(learner_id, NOWHERE)
        if (
            period.contains(day)
            and scope.holds(learner, catalogue)
            and credential_id not in checked
        ):
            checked.add(credential_id)
            counters["credentials_verified"].add(
                learner_id, 1.0, _person_keys(learner, catalogue, end)
            )
    reached: set[str] = set()
    for learner_id, day in state.reached:
        learner = state.learners.get(learner_id, NOWHERE)
        if period.contains(day) and scope.holds(learner, catalogue) and learner_id not in reached:
            reached.add(learner_id)
            keys = _person_keys(learner, catalogue, end)
            counters["learners_reached"].add(learner_id, 0.0, keys)
    _count_programmes(state, catalogue, period, scope, counters["programmes_announced"])
    _count_adult_share(
        adults_learning, catalogue, scope, year, populations or {}, counters["adult_share"]
    )
    return counters, trends


def _count_programmes(
    state: State, catalogue: Catalogue, period: Period, scope: Scope, counter: Counter
) -> None:
    if scope.unit is not None and scope.unit.level is Level.PROVINCE:
        for commune in catalogue.communes_in(scope.unit.code):  # a commune no centre reaches: 0
            counter.cells["commune"].setdefault(commune, Tally())
    for number, (provider, pathway, places, day) in enumerate(state.programmes):
        if not period.contains(day):
            continue
        communes = {c for c in (catalogue.commune(p) for p in places) if c is not None}
        provinces = {p for p in places if len(p) == 2} | {
            p for p in (catalogue.province_of(c) for c in communes) if p is not None
        }
        inside = [c for c in communes if scope.holds(Learner(c, None, None), catalogue)]
        if scope.unit is None:
            wanted = bool(places)
        elif scope.unit.level is Level.PROVINCE:
            wanted = scope.unit.code in provinces
            inside = [c for c in communes if catalogue.province_of(c) == scope.unit.code]
        elif scope.unit.level is Level.OLD_DISTRICT:
            inside = [c for c in communes if catalogue.old_district_of(c) == scope.unit.code]
            wanted = bool(inside)
        else:
            wanted = bool(inside)
        if not wanted:
            continue
        key = str(number)
        counter.total.add(key, 1.0)
        counter.cells["pathway"].setdefault(pathway, Tally()).add(key, 1.0)
        counter.cells["provider"].setdefault(provider, Tally()).add(key, 1.0)
        for commune in inside:
            counter.cells["commune"].setdefault(commune, Tally()).add(key, 1.0)


def _count_adult_share(
    adults_learning: Mapping[str, set[str]],
    catalogue: Catalogue,
    scope: Scope,
    year: Period,
    populations: Mapping[tuple[str, int], int],
    counter: Counter,
) -> None:
    learning, population = 0, 0
    for (unit, on_year), adults in sorted(populations.items()):
        if on_year != year.start.year or adults <= 0:
            continue
        commune = catalogue.commune(unit)
        if commune is None or not scope.holds(Learner(commune, None, None), catalogue):
            continue
        people = adults_learning.get(commune, set())
        cell = counter.cells["commune"].setdefault(commune, Tally())
        cell.people |= people
        cell.value = round(100.0 * len(people) / adults, 1)
        learning += len(people)
        population += adults
        counter.total.people |= people
    counter.total.value = round(100.0 * learning / population, 1) if population else 0.0


# ---------------------------------------------------------------------------- output


def _number(value: float, measure: str) -> float | int:
    if measure in ("hours", "credits", "percent"):
        return round(value, 1)
    return round(value)


def _shown(tally: Tally, indicator: Indicator, small: bool) -> Value:
    """A cell as published: its number, or ``"<5"`` when it counts people, is below province
    level and fewer than five people stand behind it."""
    counts_people = indicator.measure != "programmes"
    if counts_people and small and 0 < len(tally.people) < SMALLEST_CELL:
        return SUPPRESSED
    if indicator.measure == "people":
        return len(tally.people)
    return _number(tally.value, indicator.measure)


LEVEL_LABELS = {
    "none": ("Không xếp bậc", "No level"),
    "primary": ("Tiểu học", "Primary"),
    "lower_secondary": ("Trung học cơ sở", "Lower secondary"),
    "upper_secondary": ("Trung học phổ thông", "Upper secondary"),
}
PATHWAY_LABELS = {
    "regular": ("Giáo dục chính quy", "Regular education"),
    "continuing": ("Giáo dục thường xuyên", "Continuing education"),
    "vocational": ("Giáo dục nghề nghiệp", "Vocational education"),
    "in_service": ("Bồi dưỡng theo vị trí việc làm", "In-service training"),
    "literacy": ("Xóa mù chữ, phổ cập giáo dục", "Literacy"),
    "online": ("Học trực tuyến, từ xa", "Online and distance"),
    "community": ("Trung tâm học tập cộng đồng", "Community learning"),
    "recognition": ("Công nhận kết quả học tập", "Recognition"),
}


def label(
    dimension: str, key: str, catalogue: Catalogue, providers: Mapping[str, str], lang: str
) -> str:
    """What a breakdown's key is called, in Vietnamese (``vi``) or English."""
    pick = 0 if lang == "vi" else 1
    if dimension in ("commune", "old_district", "province"):
        return catalogue.name(key)
    if dimension == "pathway":
        return PATHWAY_LABELS.get(key, (key, key))[pick]
    if dimension == "provider":
        return providers.get(key, key)
    if dimension == "level":
        if key.startswith("vqf-"):
            return ("Bậc {} (KTTQG)", "VQF level {}")[pick].format(key[4:])
        return LEVEL_LABELS.get(key, (key, key))[pick]
    if dimension == "age_band":
        if key == "unknown":
            return ("Không rõ", "Unknown")[pick]
        return key.replace("60+", ("60 trở lên", "60 and over")[pick])
    if dimension == "sex":
        return SEX_LABELS.get(key, (key, key))[pick]
    return key


def publish(
    counters: Mapping[str, Counter],
    catalogue: Catalogue,
    period: Period,
    scope: Scope,
    providers: Mapping[str, str] | None = None,
    trend: Mapping[str, list[tuple[str, Value]]] | None = None,
) -> dict[str, Any]:
    """The figures as published (JSON-ready): names, how each is counted, totals and
    breakdowns, with every small cell below province level suppressed."""
    names = providers or {}
    indicators = []
    for indicator in INDICATORS:
        counter = counters[indicator.id]
        breakdowns: dict[str, list[dict[str, Any]]] = {}
        for dimension, cells in counter.cells.items():
            small = scope.below_province or dimension in ("commune", "old_district")
            rows = [
                {
                    "key": key,
                    "label": label(dimension, key, catalogue, names, "vi"),
                    "value": _shown(tally, indicator, small),
                }
                for key, tally in sorted(cells.items())
            ]
            breakdowns[dimension] = rows
        indicators.append(
            {
                "id": indicator.id,
                "group": indicator.group,
                "name_vi": indicator.name_vi,
                "name_en": indicator.name_en,
                "counting_vi": indicator.counting_vi,
                "counting_en": indicator.counting_en,
                "measure": indicator.measure,
                "total": _shown(counter.total, indicator, scope.below_province),
                "breakdowns": breakdowns,
            }
        )
    unit = scope.unit
    return {
        "period": period.label,
        "from": period.start.isoformat(),
        "to": period.end.isoformat(),
        "unit": None
        if unit is None
        else {"code": unit.code, "name": unit.name, "level": unit.level.value},
        "smallest_cell": SMALLEST_CELL,
        "indicators": indicators,
        "trend": {
            k: [{"period": p, "value": v} for p, v in rows] for k, rows in (trend or {}).items()
        },
    }


def figures(
    state: State,
    catalogue: Catalogue,
    period: Period,
    scope: Scope,
    populations: Mapping[tuple[str, int], int] | None = None,
    providers: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The published figures of a period and scope, with the monthly trend of the main ones."""
    counters, trends = count(state, catalogue, period, scope, populations)
    trend = {
        key: [(m, _shown(t, BY_ID[key], scope.below_province)) for m, t in months.items()]
        for key, months in trends.items()
    }
    return publish(counters, catalogue, period, scope, providers or state.providers, trend)
