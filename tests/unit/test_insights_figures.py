"""The figures from a seeded log with known answers: corrections, revocations and merges
arriving late give the same figures as in order; small cells are suppressed below province
level; pre-2025 commune codes count under their successor (Ninh Thuận under Khánh Hòa)."""

from __future__ import annotations

import itertools
import random
from datetime import UTC, date, datetime
from typing import Any

import pytest
from pydantic import BaseModel

from contracts.credentials import (
    CredentialIssued,
    CredentialVerified,
    RecognitionGranted,
    RecognitionRevoked,
)
from contracts.envelope import Envelope
from contracts.learners import LearnerMerged, LearnerRegistered
from contracts.notifications import NotificationDelivered
from contracts.programmes import ProgrammeAnnounced, ProgrammeWithdrawn
from contracts.records import (
    LearningRecordCorrected,
    LearningRecordRecorded,
    LearningRecordRevoked,
    Result,
)
from contracts.vocabulary import Pathway, RecordKind, ResultStatus, Sex
from services.insights.facts import Fact, grouped
from services.insights.figures import (
    INDICATORS,
    SUPPRESSED,
    Period,
    Scope,
    age_band,
    figures,
    resolve,
)
from services.insights.units import Level, catalogue

OLD_NINH_THUAN = "22738"  # Phường Đô Vinh, Phan Rang - Tháp Chàm (pre-2025, Ninh Thuận)
OTHER_COMMUNE = "22741"
AT = datetime(2026, 8, 1, 3, 0, tzinfo=UTC)
_ids = itertools.count()


def event(data: BaseModel) -> Envelope[BaseModel]:
    return Envelope[BaseModel](
        type="t", source="/test", subject=str(getattr(data, "learner_id", "x")), data=data
    )


def learner(
    learner_id: str, commune: str | None, born: str = "1990-05-14", sex: Sex | None = None
) -> Envelope[BaseModel]:
    return event(
        LearnerRegistered(
            learner_id=learner_id,
            full_name="Nguyễn Thị Hương",
            birth_date=date.fromisoformat(born),
            sex=sex,
            commune_code=commune,
            registered_at=AT,
        )
    )


def content(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "pathway": Pathway.LITERACY,
        "kind": RecordKind.COURSE,
        "title": "Xóa mù chữ giai đoạn 2",
        "hours": 100.0,
        "result": Result(status=ResultStatus.PASSED),
        "completed_on": date(2026, 8, 10),
    }
    base.update(changes)
    return base


def recorded(record_id: str, learner_id: str, **changes: Any) -> Envelope[BaseModel]:
    return event(
        LearningRecordRecorded(
            record_id=record_id,
            learner_id=learner_id,
            provider_id="centre-1",
            provider_record_ref=f"ref-{record_id}",
            recorded_at=AT,
            provider_name="Trung tâm GDNN-GDTX Ninh Phước",
            **content(**changes),
        )
    )


def corrected(record_id: str, learner_id: str, **changes: Any) -> Envelope[BaseModel]:
    return event(
        LearningRecordCorrected(
            record_id=record_id,
            learner_id=learner_id,
            provider_id="centre-1",
            reason="sai số giờ",
            corrected_at=datetime(2026, 9, 1, tzinfo=UTC),
            **content(**changes),
        )
    )


def facts_of(events: list[Envelope[BaseModel]]) -> dict[str, list[Fact]]:
    return grouped(events)


def published(
    events: list[Envelope[BaseModel]],
    period: str = "2026-Q3",
    unit: str | None = "56",
    populations: dict[tuple[str, int], int] | None = None,
) -> dict[str, Any]:
    units = catalogue()
    scope = Scope(units.resolve(unit) if unit else None)
    return figures(
        resolve(facts_of(events), units), units, Period.parse(period), scope, populations
    )


def total(found: dict[str, Any], indicator: str) -> Any:
    return next(i["total"] for i in found["indicators"] if i["id"] == indicator)


def cells(found: dict[str, Any], indicator: str, dimension: str) -> dict[str, Any]:
    item = next(i for i in found["indicators"] if i["id"] == indicator)
    return {c["key"]: c["value"] for c in item["breakdowns"][dimension]}


def seeded_log() -> list[Envelope[BaseModel]]:
    """Seven learners in Khánh Hòa (six under a pre-2025 Ninh Thuận code), one elsewhere;
    one record corrected, one revoked, one learner merged into another."""
    log = [learner(f"L{i}", OLD_NINH_THUAN) for i in range(6)]
    log += [learner("L6", OTHER_COMMUNE), learner("H1", "00097")]  # 00097: Hà Nội
    log += [recorded(f"R{i}", f"L{i}") for i in range(7)]  # 7 literacy completions, 100 h
    log += [recorded("RH", "H1")]
    log += [recorded("R-cont", "L0", pathway=Pathway.CONTINUING, credits=4.0, hours=60.0)]
    log += [recorded("R-failed", "L1", result=Result(status=ResultStatus.FAILED))]
    log += [recorded("R-old", "L2", completed_on=date(2026, 5, 2))]  # another quarter
    log += [corrected("R3", "L3", hours=40.0)]  # 100 h → 40 h
    log += [
        event(
            LearningRecordRevoked(
                record_id="R4",
                learner_id="L4",
                provider_id="centre-1",
                reason="cấp nhầm",
                revoked_at=AT,
            )
        )
    ]
    log += [event(LearnerMerged(learner_id="L5", merged_into="L0", reason="trùng", merged_at=AT))]
    log += [
        event(
            RecognitionGranted(
                recognition_id="G1",
                learner_id="L0",
                rule_id="continuing-credit-transfer",
                rule_version="1",
                record_ids=["R-cont"],
                outcome_vi="Công nhận 4 tín chỉ",
                credits=4.0,
                granted_at=AT,
            )
        ),
        event(
            RecognitionGranted(
                recognition_id="G2",
                learner_id="L1",
                rule_id="stackable",
                rule_version="1",
                record_ids=["R1"],
                outcome_vi="Công nhận",
                granted_at=AT,
            )
        ),
        event(
            RecognitionRevoked(
                recognition_id="G2",
                learner_id="L1",
                rule_id="stackable",
                rule_version="1",
                reason="record corrected",
                revoked_at=datetime(2026, 8, 2, tzinfo=UTC),
            )
        ),
        event(
            CredentialIssued(credential_id="C1", learner_id="L0", record_ids=["R0"], issued_at=AT)
        ),
        event(
            ProgrammeAnnounced(
                programme_id="P1",
                provider_id="centre-1",
                title="Tin học cơ bản",
                pathway=Pathway.CONTINUING,
                place_codes=[OLD_NINH_THUAN],
                how_to_enrol="Gọi trung tâm",
                announced_at=AT,
            )
        ),
        event(
            ProgrammeAnnounced(
                programme_id="P2",
                provider_id="centre-1",
                title="Rút lại",
                pathway=Pathway.VOCATIONAL,
                place_codes=[OLD_NINH_THUAN],
                how_to_enrol="Gọi trung tâm",
                announced_at=AT,
            )
        ),
        event(
            ProgrammeWithdrawn(
                programme_id="P2", provider_id="centre-1", reason="hủy", withdrawn_at=AT
            )
        ),
    ]
    log += [
        event(
            NotificationDelivered(
                notification_id=f"L{i}:P1:inbox",
                learner_id=f"L{i}",
                channel="inbox",
                about="programme",
                subject_id="P1",
                attempts=1,
                delivered_at=AT,
            )
        )
        for i in range(6)
    ]
    return log


def test_the_seeded_log_gives_the_known_figures() -> None:
    found = published(seeded_log())
    assert found["unit"]["name"] == "Tỉnh Khánh Hòa"
    # L0..L6 in Khánh Hòa; L4's only Q3 record was revoked, L5 is L0 now: L0 L1 L2 L3 L6
    assert total(found, "learners_with_learning") == 5
    # R0 R1 R2 R3 R5 R6 literacy (R4 revoked) + R-cont; R-failed is not a completion
    assert total(found, "completions") == 7
    assert total(found, "literacy_completions") == 6
    assert total(found, "hours") == 5 * 100 + 40 + 60  # R3 corrected to 40 h
    assert total(found, "credits") == 4.0
    assert total(found, "continuing_results") == 1
    assert total(found, "continuing_recognised") == 1
    assert total(found, "recognitions_granted") == 1  # G2 revoked
    assert total(found, "credentials_issued") == 1
    assert total(found, "programmes_announced") == 1  # P2 withdrawn
    assert total(found, "learners_reached") == 5  # six deliveries, L5 is L0
    # by commune (below province level): the six under 22738 show, the one in 22741 is small
    communes = cells(found, "learners_with_learning", "commune")
    assert communes == {"22738": SUPPRESSED, "22741": SUPPRESSED}  # 4 and 1 people
    assert cells(found, "completions", "commune")["22738"] == SUPPRESSED
    # the programme map lists every commune of the province; the one reached has 1
    programme_cells = cells(found, "programmes_announced", "commune")
    assert programme_cells["22738"] == 1
    assert len(programme_cells) == len(catalogue().communes_in("56"))
    assert sum(1 for v in programme_cells.values() if v == 0) == len(programme_cells) - 1


def test_late_corrections_revocations_and_merges_give_the_same_figures() -> None:
    log = seeded_log()
    expected = published(log)
    shuffled = list(log)
    for seed in range(5):
        random.Random(seed).shuffle(shuffled)
        assert published(shuffled) == expected
    # applying every event twice changes nothing
    assert published(log + log) == expected


def test_a_merge_arriving_after_the_records_counts_the_person_once() -> None:
    before = published(
        [learner("A", "22738"), learner("B", "22738"), recorded("RA", "A"), recorded("RB", "B")]
    )
    assert total(before, "learners_with_learning") == 2
    after = published(
        [
            learner("A", "22738"),
            learner("B", "22738"),
            recorded("RA", "A"),
            recorded("RB", "B"),
            event(LearnerMerged(learner_id="B", merged_into="A", reason="trùng", merged_at=AT)),
        ]
    )
    assert total(after, "learners_with_learning") == 1
    assert total(after, "completions") == 2


def test_below_province_level_every_small_cell_is_suppressed_and_large_ones_shown() -> None:
    log = [learner(f"L{i}", "22738") for i in range(7)] + [
        recorded(f"R{i}", f"L{i}") for i in range(7)
    ]
    commune = published(log, unit="22738")
    assert commune["unit"]["level"] == "commune"
    assert total(commune, "learners_with_learning") == 7
    assert total(commune, "credentials_issued") == 0  # nobody behind it: nothing singled out
    for indicator in commune["indicators"]:
        for rows in indicator["breakdowns"].values():
            for row in rows:
                value = row["value"]
                assert (
                    value == SUPPRESSED
                    or indicator["measure"] == "programmes"
                    or (
                        isinstance(value, int | float)
                        and (value == 0 or indicator["measure"] != "people" or value >= 5)
                    )
                )
    small = published(log[:3] + log[7:10], unit="22738")
    assert total(small, "learners_with_learning") == SUPPRESSED
    assert total(small, "hours") == SUPPRESSED
    # at province level the total is shown, the commune cell is not
    province = published(log[:3] + log[7:10], unit="56")
    assert total(province, "learners_with_learning") == 3
    assert cells(province, "learners_with_learning", "commune") == {"22738": SUPPRESSED}


def test_by_sex_where_known_the_unknown_counted_in_the_totals_only() -> None:
    log = (
        [learner(f"F{i}", "22738", sex=Sex.FEMALE) for i in range(6)]
        + [learner(f"M{i}", "22738", sex=Sex.MALE) for i in range(5)]
        + [learner(f"U{i}", "22738") for i in range(2)]
    )
    log += [recorded(f"R{e.subject}", e.subject) for e in list(log)]
    province = published(log, unit="56")
    assert total(province, "learners_with_learning") == 13
    assert cells(province, "learners_with_learning", "sex") == {"female": 6, "male": 5}
    assert cells(province, "hours", "sex") == {"female": 600, "male": 500}
    # below province level a sex cell of fewer than five people is suppressed like any other
    commune = published(log, unit="22738")
    assert cells(commune, "learners_with_learning", "sex") == {"female": 6, "male": 5}
    few = [learner(f"F{i}", "22738", sex=Sex.FEMALE) for i in range(6)]
    few += [learner("M0", "22738", sex=Sex.MALE)]
    few += [recorded(f"R{e.subject}", e.subject) for e in list(few)]
    shown = cells(published(few, unit="22738"), "learners_with_learning", "sex")
    assert shown == {"female": 6, "male": SUPPRESSED}
    labels = next(i for i in province["indicators"] if i["id"] == "completions")
    assert {c["label"] for c in labels["breakdowns"]["sex"]} == {"Nữ", "Nam"}


def test_credentials_verified_count_each_credential_once_in_the_period() -> None:
    def checked(credential: str, learner_id: str, day: str) -> Envelope[BaseModel]:
        return event(
            CredentialVerified(
                credential_id=credential,
                learner_id=learner_id,
                day=date.fromisoformat(day),
                verdict="valid",
                verified_at=AT,
            )
        )

    log = [learner(f"L{i}", "22738", sex=Sex.FEMALE) for i in range(6)]
    log += [checked(f"urn:uuid:c{i}", f"L{i}", "2026-08-01") for i in range(6)]
    log += [checked("urn:uuid:c0", "L0", "2026-08-02"), checked("urn:uuid:c0", "L0", "2026-08-02")]
    log += [checked("urn:uuid:c1", "L1", "2026-11-02")]  # the next quarter
    found = published(log, unit="56")
    assert total(found, "credentials_verified") == 6
    assert cells(found, "credentials_verified", "commune") == {"22738": 6}
    assert cells(found, "credentials_verified", "sex") == {"female": 6}
    assert total(published(log, period="2026-Q4", unit="56"), "credentials_verified") == 1
    assert (
        total(published(log, period="2026-Q4", unit="22738"), "credentials_verified") == SUPPRESSED
    )


def test_no_figure_carries_a_learner_id_or_name() -> None:
    text = repr(published(seeded_log(), unit=None))
    for learner_id in ("L0", "L1", "H1", "Nguyễn"):
        assert f"'{learner_id}'" not in text and "Nguyễn Thị" not in text


def test_old_ninh_thuan_codes_count_under_khanh_hoa_and_their_old_district() -> None:
    units = catalogue()
    assert units.resolve("58") == units.resolve("56")  # the old province code
    assert units.province_of(units.commune(OLD_NINH_THUAN) or "") == "56"
    district = units.resolve("582")
    assert district is not None and district.level is Level.OLD_DISTRICT
    assert district.name == "Thành phố Phan Rang - Tháp Chàm"
    found = published(seeded_log(), unit="582")
    assert total(found, "learners_with_learning") == 5  # every Khánh Hòa learner lives there
    assert len(units.successors) > 10_000 and len(units.communes_in("56")) == 65


def test_the_share_of_adults_uses_the_population_the_department_entered() -> None:
    log = [learner(f"L{i}", "22738") for i in range(10)] + [
        learner("child", "22738", born="2015-01-01")
    ]
    log += [recorded(f"R{i}", f"L{i}") for i in range(10)] + [recorded("RC", "child")]
    found = published(log, period="2026", unit="56", populations={("22738", 2026): 200})
    assert total(found, "adult_share") == 5.0  # 10 adults of 200; the child is not counted
    assert cells(found, "adult_share", "commune") == {"22738": 5.0}


def test_periods_and_age_bands() -> None:
    q3 = Period.parse("2026-Q3")
    assert (q3.start, q3.end) == (date(2026, 7, 1), date(2026, 9, 30))
    assert [m.label for m in q3.months()] == ["2026-07", "2026-08", "2026-09"]
    assert Period.parse("2026-02").end == date(2026, 2, 28)
    with pytest.raises(ValueError, match="quarter"):
        Period.parse("2026-Q5")
    assert age_band(date(2011, 10, 1), date(2026, 9, 30)) == "0-14"
    assert age_band(date(2011, 9, 30), date(2026, 9, 30)) == "15-24"
    assert age_band(None, date(2026, 9, 30)) == "unknown"


def test_every_indicator_is_defined_once_with_both_names_and_how_it_is_counted() -> None:
    assert len({i.id for i in INDICATORS}) == len(INDICATORS)
    for indicator in INDICATORS:
        assert indicator.name_vi and indicator.name_en
        assert indicator.counting_vi and indicator.counting_en


def test_every_output_carries_the_published_cells_and_so_the_suppression() -> None:
    import csv
    import io

    from openpyxl import load_workbook

    from services.insights.figures_page import render
    from services.insights.workbook import csv_bytes, rows_of, workbook_bytes

    found = published(seeded_log(), unit=OLD_NINH_THUAN)  # a commune: every small cell hidden
    assert total(found, "learners_with_learning") == SUPPRESSED
    expected = [row for i in found["indicators"] for row in rows_of(i)]
    book = load_workbook(io.BytesIO(workbook_bytes(found)))
    in_book = [
        row for sheet in book.worksheets[1:] for row in sheet.iter_rows(min_row=3, values_only=True)
    ]

    def ordered(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        return sorted(rows, key=lambda row: repr(row[:5]))

    assert ordered(in_book) == ordered(
        [tuple(v if v != "" else None for v in row) for row in expected]
    )
    lines = list(csv.reader(io.StringIO(csv_bytes(found).decode("utf-8-sig"))))[1:]
    assert [line[-1] for line in lines] == [str(row[-1]) for row in expected]
    page = render(found, "vi")
    assert page.count("&lt;5") >= sum(1 for row in expected if row[-1] == SUPPRESSED)
    assert "L0" not in page and "Nguyễn Thị" not in page


@pytest.mark.parametrize(
    ("today", "due"),
    [
        (date(2026, 12, 2), ["2026-10", "2026-Q3", "2025"]),  # before the 5th: last month's
        (date(2026, 12, 5), ["2026-11", "2026-Q3", "2025"]),
        (date(2026, 10, 4), ["2026-08", "2026-Q2", "2025"]),
        (date(2026, 10, 5), ["2026-09", "2026-Q3", "2025"]),
        (date(2026, 1, 4), ["2025-11", "2025-Q3", "2024"]),
        (date(2026, 1, 5), ["2025-12", "2025-Q4", "2025"]),
        (date(2026, 3, 31), ["2026-02", "2025-Q4", "2025"]),
    ],
)
def test_the_reports_due_on_a_day(today: date, due: list[str]) -> None:
    from services.insights.schedule import latest_due

    assert latest_due(today) == due


def test_an_officer_reaches_their_unit_and_what_lies_inside_it_only() -> None:
    from services.insights.api import within

    units = catalogue()

    def unit(code: str) -> Any:
        found = units.resolve(code)
        assert found is not None
        return found

    commune, other = unit("22738"), unit(next(c for c in units.communes_in("56") if c != "22738"))
    province, district, hanoi = unit("56"), unit("582"), unit("00097")
    assert within(commune, commune, units)
    assert not within(commune, other, units)
    assert not within(commune, province, units)
    assert within(province, commune, units) and within(province, district, units)
    assert not within(province, hanoi, units)
    assert within(district, commune, units)
    assert not within(district, province, units)
    assert not within(
        district,
        unit(next(c for c in units.communes_in("56") if units.old_district_of(c) != "582")),
        units,
    )


def test_the_pdf_report_carries_the_published_cells_in_vietnamese() -> None:
    """The PDF is the page's report: heading, every indicator with the published numbers and
    each suppressed cell as "<5", no learner's id or name (read back with poppler's
    pdftotext, which ``make browsers`` installs)."""
    import shutil
    import subprocess

    from services.insights.figures_page import report_heading
    from services.insights.pdf import pdf_bytes
    from services.insights.workbook import rows_of

    pdftotext = shutil.which("pdftotext")
    assert pdftotext, "pdftotext is missing: run `make browsers` (Debian's poppler-utils)"
    found = published(seeded_log(), unit=OLD_NINH_THUAN)
    document = pdf_bytes(found, report_heading(found, "12/BC-SGDĐT", "SỞ GD&ĐT", date(2026, 10, 5)))
    assert document.startswith(b"%PDF")
    text = subprocess.run(
        [pdftotext, "-", "-"], input=document, capture_output=True, check=True
    ).stdout.decode()
    flat = " ".join(text.split())
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in flat and "12/BC-SGDĐT" in flat
    assert "ngày 05 tháng 10 năm 2026" in flat
    for indicator in found["indicators"]:
        assert " ".join(indicator["name_vi"].split()) in flat, indicator["id"]
    suppressed = sum(1 for i in found["indicators"] for row in rows_of(i) if row[-1] == SUPPRESSED)
    assert suppressed and flat.count("<5") >= suppressed
    assert "L0" not in flat and "Nguyễn Thị" not in flat
