"""Reading a verified CLR issued elsewhere as prior learning — no I/O.

A receiving system reads what the issuer stated in machine-readable form, never the free
text: per embedded achievement credential, the course code (``humanCode``), credits
(``creditsEarned``, else ``creditsAvailable``), hours (a ``Result`` of an ``ext:LearningHours``
``ResultDescription``), the grade on its scale (``ScaledScore`` bounds, ``LetterGrade``
letters, a performance level) and its status, the level (``alignment`` to the VQF, or to the
AQRF mapped back, or a general-education level: :mod:`services.credential.frameworks`), the
kind (from ``achievementType``) and the completion date (``activityEndDate``, else
``awardedDate``, else ``validFrom``).

Whose learning it is: the department names the learner; the CLR's subject must carry an
``IdentityObject`` of type ``name`` that matches that learner's registered name — hashed with
the CLR's salt (OB 3.0's advice, as this system issues), or in clear. A CLR that names its
learner only in ways this system cannot check (an e-mail, a student number of another
school) is refused: nothing here proves it is this learner's.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from pydantic import ValidationError

from contracts.prior_learning import ImportedAchievement
from contracts.vocabulary import Pathway
from services.credential.frameworks import Frameworks, levels_from_alignments
from services.credential.vc.credentials import identity_hash, nfc

HOURS_RESULT_TYPE = "ext:LearningHours"
# OB 3.0 achievementType -> the record kind it is read as (anything else: a course).
KINDS = {
    "Course": "course",
    "LearningProgram": "programme",
    "Certificate": "certificate",
    "CertificateOfCompletion": "certificate",
    "Certification": "certificate",
    "MicroCredential": "certificate",
    "Diploma": "diploma",
    "SecondarySchoolDiploma": "diploma",
    "AssociateDegree": "diploma",
    "BachelorDegree": "diploma",
    "Degree": "diploma",
    "MasterDegree": "diploma",
    "DoctoralDegree": "diploma",
    "Assessment": "exam",
    "Competency": "recognised_unit",
}
STATUSES = {"Completed": "passed", "Failed": "failed"}


class PriorLearningError(ValueError):
    """The CLR cannot be read as prior learning; the message says what and where."""


def _text(value: Any) -> str | None:
    """A string, or the Vietnamese (else the first) entry of a language map."""
    if isinstance(value, str):
        return nfc(value) or None
    if isinstance(value, Mapping) and value:
        chosen = value.get("vi", next(iter(value.values())))
        return nfc(chosen) if isinstance(chosen, str) else None
    return None


def _list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _types(value: Any) -> list[str]:
    return [t for t in _list(value) if isinstance(t, str)]


def identity_matches(subject: Mapping[str, Any], full_name: str) -> bool | None:
    """Whether the subject's ``name`` identifiers match ``full_name``: True if one does and
    none contradicts it, False if one contradicts it, None if there is none to check."""
    found: list[bool] = []
    for item in _list(subject.get("identifier")):
        if not isinstance(item, Mapping) or item.get("identityType") != "name":
            continue
        stated = item.get("identityHash")
        if not isinstance(stated, str):
            found.append(False)
        elif item.get("hashed"):
            salt = item.get("salt") if isinstance(item.get("salt"), str) else ""
            if stated.startswith("sha256$"):
                found.append(stated == identity_hash(full_name, str(salt)))
            elif stated.startswith("md5$"):
                found.append(False)  # too weak to prove anything
            else:  # OB 3.0 also allows the bare hex digest of SHA-256
                digest = hashlib.sha256((nfc(full_name) + str(salt)).encode()).hexdigest()
                found.append(stated.lower() == digest)
        else:
            found.append(nfc(stated).casefold() == nfc(full_name).casefold())
    if not found:
        return None
    return all(found)


def record_id_for(learner_id: str, clr_id: str, credential_id: str) -> str:
    """The trail entry id of one imported achievement credential."""
    digest = hashlib.sha256(f"{learner_id}|{clr_id}|{credential_id}".encode()).hexdigest()
    return f"imp-{digest[:32]}"


def import_id_for(learner_id: str, clr_id: str) -> str:
    """The id of importing one CLR for one learner (the same every time)."""
    return f"pli-{hashlib.sha256(f'{learner_id}|{clr_id}'.encode()).hexdigest()[:32]}"


def _day(*values: Any) -> date | None:
    for value in values:
        if isinstance(value, str) and value:
            try:
                return datetime.fromisoformat(value.replace("Z", "+00:00")).date()
            except ValueError:
                try:
                    return date.fromisoformat(value[:10])
                except ValueError:
                    continue
    return None


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.replace(",", "."))
        except ValueError:
            return None
    return None


def _grade_and_results(
    achievement: Mapping[str, Any], subject: Mapping[str, Any]
) -> tuple[dict[str, Any], float | None]:
    """The record ``result`` (status, grade, scale) and the hours, from the subject's
    results and the achievement's result descriptions."""
    described = {
        d.get("id"): d
        for d in _list(achievement.get("resultDescription"))
        if isinstance(d, Mapping)
    }
    result: dict[str, Any] = {}
    hours: float | None = None
    for item in _list(subject.get("result")):
        if not isinstance(item, Mapping):
            continue
        description = described.get(item.get("resultDescription"), {})
        kind = description.get("resultType")
        value = item.get("value")
        if kind == HOURS_RESULT_TYPE:
            hours = _number(value)
            continue
        if kind in (
            "ScaledScore",
            "LetterGrade",
            "PerformanceLevel",
            "Result",
            "GradePointAverage",
        ):
            if isinstance(value, str) and value and "grade" not in result:
                result["grade"] = nfc(value)
                if kind == "ScaledScore" and "valueMin" in description:
                    result["grade_scale"] = f"{description['valueMin']}-{description['valueMax']}"
                elif kind == "LetterGrade":
                    allowed = [a for a in _list(description.get("allowedValue")) if a]
                    if allowed:
                        result["grade_scale"] = f"{allowed[0]}-{allowed[-1]}"
            status = STATUSES.get(str(item.get("status")))
            if status is not None:
                result["status"] = status
    # an awarded achievement credential asserts the learner achieved it, unless it says Failed
    result.setdefault("status", "completed")
    return result, hours


def read_achievements(
    clr: Mapping[str, Any],
    learner_id: str,
    pathway: Pathway,
    frameworks: Frameworks,
) -> list[ImportedAchievement]:
    """Each embedded achievement credential of a (verified) CLR as an imported trail entry
    of ``pathway``; raises :class:`PriorLearningError` naming the credential that cannot be
    read."""
    subject = clr.get("credentialSubject")
    if not isinstance(subject, Mapping):
        raise PriorLearningError("the CLR has no credentialSubject")
    clr_id = str(clr.get("id") or "")
    found: list[ImportedAchievement] = []
    embedded = _list(subject.get("verifiableCredential"))
    if not embedded:
        raise PriorLearningError("the CLR embeds no achievement credential")
    for n, credential in enumerate(embedded):
        where = f"$.credentialSubject.verifiableCredential[{n}]"
        if not isinstance(credential, Mapping):
            raise PriorLearningError(f"{where}: only embedded JSON credentials are read")
        inner = credential.get("credentialSubject")
        achievement = inner.get("achievement") if isinstance(inner, Mapping) else None
        if not isinstance(inner, Mapping) or not isinstance(achievement, Mapping):
            raise PriorLearningError(f"{where}: no credentialSubject.achievement")
        result, hours = _grade_and_results(achievement, inner)
        vqf, general = levels_from_alignments(frameworks, _list(achievement.get("alignment")))
        credits = _number(inner.get("creditsEarned"))
        if credits is None:
            credits = _number(achievement.get("creditsAvailable"))
        completed = _day(
            inner.get("activityEndDate"), credential.get("awardedDate"), credential.get("validFrom")
        )
        kinds = [KINDS[t] for t in _types(achievement.get("achievementType")) if t in KINDS]
        credential_id = str(credential.get("id") or f"{clr_id}#{n}")
        try:
            found.append(
                ImportedAchievement(
                    record_id=record_id_for(learner_id, clr_id, credential_id),
                    credential_id=credential_id,
                    achievement_id=str(achievement.get("id") or credential_id),
                    pathway=pathway,
                    kind=kinds[0] if kinds else "course",
                    title=_text(achievement.get("name")) or "",
                    code=_text(achievement.get("humanCode")),
                    vqf_level=vqf,
                    general_education_level=general,
                    field_of_study=_text(achievement.get("fieldOfStudy")),
                    credits=credits,
                    hours=hours,
                    result=result,
                    completed_on=completed,
                )
            )
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
            )
            raise PriorLearningError(
                f"{where} cannot be read as prior learning: {problems}"
            ) from exc
    return found
