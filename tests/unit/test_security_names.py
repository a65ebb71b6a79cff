"""Names and titles that hide what they are: look-alike letters from other scripts, invisible
and text-direction characters (no I/O)."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from contracts.text import first_hidden_character
from services.learner.identity import (
    checked_name,
    folded_name,
    hidden_character_problem,
    name_problem,
    name_problem_by_letter,
)
from services.learner.intake import LearnerIdentity, RecordContentInput
from services.learner.profiles import ProfileChange, SelfRegistration
from services.learner.programmes import ProgrammeAnnouncement
from services.learner.providers import ProviderChange, ProviderRegistration


@pytest.mark.parametrize(
    "name",
    [
        "Nguyễn Thị Hương",
        "NGUYỄN THỊ HƯƠNG",
        "nguyen thi huong",
        "Đặng Quốc Việt",
        "Trần-Lê Mỹ Ngọc",
        "H'Hen Niê",  # Ê Đê names: apostrophe
        "Ksor H'Yăn",
        "Y Moan Ê Ban",
        "Ayŭn",  # breve on u in Ê Đê spelling
        "Nguyễn Văn A.",
        "Giàng A Páo",
        "Lò Văn Ưởng",
    ],
)
def test_vietnamese_names_are_accepted(name: str) -> None:
    assert name_problem(name) is None
    assert name_problem(unicodedata.normalize("NFD", name)) is None


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("Nguy\u0435n", "U+0435 CYRILLIC SMALL LETTER IE) is a Cyrillic letter"),
        ("Nguyễn Thị Hươ\u043dg", "Cyrillic letter"),
        ("H\u03bfàng", "U+03BF GREEK SMALL LETTER OMICRON) is a Greek letter"),
        ("\u039dguyen", "Greek letter"),
        ("\uff2eguyen", "Fullwidth letter"),
        ("\U0001d40dguyen", "Mathematical letter"),
        ("Ng\u0131yen", "not a letter of the Vietnamese alphabet"),  # dotless i
        ("Müller", "marks Vietnamese does not write"),
        ("Nguye\u0302\u0303\u0301n", "marks Vietnamese does not write"),  # two tones
        ("Ngu\u200byen", "U+200B ZERO WIDTH SPACE"),
        ("Ngu\u200dyen", "invisible formatting character"),
        ("Ngu\u00adyen", "U+00AD SOFT HYPHEN"),
        ("Nguyen\u202e", "text-direction control"),
        ("\u2066Nguyen\u2069", "text-direction control"),
        ("Ngu\u200fyen", "text-direction control"),
        ("Ngu\x00yen", "control character"),
        ("Nguyen\nThi", "control character"),
        ("Ngu\ue000yen", "private use"),
        ("Ngu\u3164yen", "shows as a blank"),
        ("Nguyen 2", "is a digit"),
        ("H\u2019Hen", "not the plain apostrophe"),
        ("=HYPERLINK(1)", "not allowed in a name"),
        ("Nguyen@example", "not allowed in a name"),
        ("-Nguyen", "starts with a letter"),
        ("'Nguyen", "starts with a letter"),
        ("\u0301Nguyen", "stands on no letter"),
        ("   ", "needs letters"),
    ],
)
def test_look_alike_and_hidden_characters_are_refused_with_the_reason(
    name: str, reason: str
) -> None:
    problem = name_problem(name)
    assert problem is not None and reason in problem, problem


def test_the_refusal_says_where_the_character_is() -> None:
    assert (name_problem("Nguy\u0435n") or "").startswith("character 5 'е'")


def test_a_checked_name_keeps_its_diacritics_in_nfc() -> None:
    decomposed = unicodedata.normalize("NFD", "  Nguyễn   Thị\u00a0Hương ")
    stored = checked_name(decomposed)
    assert stored == "Nguyễn Thị Hương"
    assert stored == unicodedata.normalize("NFC", stored)
    assert folded_name(stored) == "nguyen thi huong"  # comparison only; storage keeps marks


def test_a_look_alike_does_not_fold_to_the_name_it_imitates() -> None:
    # which is why it must be refused: it would be another person to the identity check
    assert folded_name("Nguy\u0435n") != folded_name("Nguyen")


@pytest.mark.parametrize(
    ("text", "line_breaks", "refused"),
    [
        ("Sơ cấp Kỹ thuật trồng nho", False, False),
        ("Tin học ứng dụng — cơ bản (IC3) «2025»", False, False),
        ("Trồng nho\u200d an toàn", False, True),
        ("Trung tâm \u202eGDNN", False, True),
        ("Sơ cấp\x07", False, True),
        ("Dòng một\nDòng hai\tcột", True, False),
        ("Dòng một\nDòng hai", False, True),
        ("Dòng một\n\u2067hai", True, True),
    ],
)
def test_titles_refuse_hidden_characters(text: str, line_breaks: bool, refused: bool) -> None:
    assert (hidden_character_problem(text, line_breaks) is not None) == refused


def _record(**changes: object) -> dict[str, object]:
    return {
        "pathway": "vocational",
        "kind": "certificate",
        "title": "Sơ cấp Kỹ thuật trồng nho",
        "result": {"status": "passed"},
        "completed_on": "2025-03-15",
        **changes,
    }


def _field_errors(exc: pytest.ExceptionInfo[ValidationError]) -> dict[str, str]:
    return {".".join(map(str, e["loc"])): e["msg"] for e in exc.value.errors()}


def test_every_model_that_takes_a_name_or_title_checks_it() -> None:
    identity = {"national_id": "079190001234", "birth_date": "1990-05-14"}
    with pytest.raises(ValidationError) as exc:
        LearnerIdentity.model_validate({**identity, "full_name": "Nguy\u0435n"})
    assert "Cyrillic" in _field_errors(exc)["full_name"]
    with pytest.raises(ValidationError) as exc:
        SelfRegistration.model_validate({"birth_date": "1990-05-14", "full_name": "Ngu\u200byen"})
    assert "ZERO WIDTH SPACE" in _field_errors(exc)["full_name"]
    with pytest.raises(ValidationError) as exc:
        ProfileChange.model_validate({"full_name": "H\u03bfàng"})
    assert "Greek" in _field_errors(exc)["full_name"]
    assert ProfileChange.model_validate({"email": "a@example.vn"}).full_name is None
    with pytest.raises(ValidationError) as exc:
        RecordContentInput.model_validate(_record(title="Sơ cấp\u202e nho"))
    assert "text-direction" in _field_errors(exc)["title"]
    with pytest.raises(ValidationError) as exc:
        RecordContentInput.model_validate(_record(certificate_number="NP\x00-1"))
    assert "control" in _field_errors(exc)["certificate_number"]
    centre = {"kind": "school", "unit_code": "22735", "pathways": ["vocational"]}
    with pytest.raises(ValidationError) as exc:
        ProviderRegistration.model_validate({**centre, "name": "Trung tâm\u200b"})
    assert "ZERO WIDTH SPACE" in _field_errors(exc)["name"]
    with pytest.raises(ValidationError) as exc:
        ProviderChange.model_validate({"name": "\u202eTrung tâm"})
    assert "text-direction" in _field_errors(exc)["name"]
    programme = {"pathway": "vocational", "place_codes": ["22735"], "how_to_enrol": "Gọi"}
    for field, value in [
        ("title", "Nho\u2066"),
        ("how_to_enrol", "Gọi\x1b[31m"),
        ("topics", ["nho", "\u200bnho"]),
        ("description", "Dòng một\n\u202edòng hai"),
    ]:
        body = {"title": "Trồng nho", **programme, field: value}
        with pytest.raises(ValidationError) as exc:
            ProgrammeAnnouncement.model_validate(body)
        assert field in {key.split(".")[0] for key in _field_errors(exc)}, field
    ok = ProgrammeAnnouncement.model_validate(
        {"title": "Trồng nho", **programme, "description": "Dòng một\nDòng hai"}
    )
    assert ok.description == "Dòng một\nDòng hai"


# The quick answers (one C call for most text, a set of allowed characters for most names)
# must be the answers of the character-by-character checks, whatever the text.
_TRICKY = st.sampled_from(
    [
        *"aăâeêioôơuưyđĐAĂÂ ỄễếẾợỢ-'.09\t\n\r",
        *("\u0301", "\u0323", "\u0302", "\u031b", "\u0308", "\u0336"),  # marks apart
        *("\u200b", "\u200d", "\u202e", "\u2066", "\ufeff", "\u00ad"),  # Cf
        *("\u2028", "\u2029", "\u0085", "\u0007", "\u00a0", "\u3000"),  # Zl Zp Cc Zs
        *("\ue000", "\U000e0001", "\u0378", "\u115f", "\u3164", "\u2800", "\u034f"),
        *("е", "ο", "Ｎ", "ß", "ø", "ł", "Ǎ", "ǹ", "ḿ", "ʼ", "`"),
    ]
)


@given(st.text(_TRICKY, max_size=12) | st.text(max_size=12))
def test_quick_checks_answer_as_the_letter_by_letter_ones(text: str) -> None:
    for line_breaks in (False, True):
        assert hidden_character_problem(text, line_breaks) == first_hidden_character(
            text, line_breaks
        )
    assert name_problem(text) == name_problem_by_letter(unicodedata.normalize("NFC", text))
