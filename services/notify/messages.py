"""What learners are told, in Vietnamese or English, from templates — without I/O.

Templates are data (``string.Template`` per language); the functions pick the language, fill in
a programme's essentials (what, where, when, for whom, cost, how to enrol) and add the
unsubscribe link every pushed message carries.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from string import Template

from contracts import words
from contracts.credentials import CredentialIssued, RecognitionGranted
from contracts.programmes import Programme
from contracts.vocabulary import Language

TEMPLATES: dict[Language, dict[str, Template]] = {
    Language.VI: {
        "programme.title": Template("Chương trình học mới gần bạn: $title"),
        "programme.kind": Template("Lĩnh vực: $pathway"),
        "programme.level": Template("Trình độ: $level"),
        "programme.dates": Template("Khai giảng ngày $starts"),
        "programme.until": Template("Kết thúc ngày $ends"),
        "programme.ages": Template("Độ tuổi: $ages"),
        "programme.prior": Template("Yêu cầu đã có trình độ bậc $prior"),
        "programme.fee": Template("Học phí: $fee"),
        "programme.free": Template("Học phí: miễn phí"),
        "programme.capacity": Template("Số chỗ: $capacity"),
        "programme.enrol": Template("Cách đăng ký: $how"),
        "recognition.title": Template("Kết quả học tập của bạn đã được công nhận"),
        "recognition.body": Template("$outcome"),
        "recognition.toward": Template("Được tính cho: $toward"),
        "recognition.credits": Template("Số tín chỉ được công nhận: $credits"),
        "credential.title": Template("Bạn đã được cấp chứng nhận số"),
        "credential.body": Template("Chứng nhận $credential gồm $count kết quả học tập."),
        "credential.verify": Template("Kiểm tra tại: $url"),
        "digest.title": Template("Bạn có $count chương trình học mới phù hợp"),
        "footer": Template("Không muốn nhận thông báo qua kênh này? Hủy đăng ký: $url"),
        "sms.prefix": Template("[Học tập suốt đời]"),
    },
    Language.EN: {
        "programme.title": Template("New programme near you: $title"),
        "programme.kind": Template("Pathway: $pathway"),
        "programme.level": Template("Level: $level"),
        "programme.dates": Template("Starts $starts"),
        "programme.until": Template("Ends $ends"),
        "programme.ages": Template("Ages: $ages"),
        "programme.prior": Template("Requires a level $prior qualification"),
        "programme.fee": Template("Fee: $fee"),
        "programme.free": Template("Fee: free"),
        "programme.capacity": Template("Places: $capacity"),
        "programme.enrol": Template("How to enrol: $how"),
        "recognition.title": Template("Your learning has been recognised"),
        "recognition.body": Template("$outcome"),
        "recognition.toward": Template("Counts toward: $toward"),
        "recognition.credits": Template("Credits recognised: $credits"),
        "credential.title": Template("A digital credential was issued to you"),
        "credential.body": Template("Credential $credential with $count learning records."),
        "credential.verify": Template("Verify it at: $url"),
        "digest.title": Template("$count new programmes that fit you"),
        "footer": Template("Don't want messages on this channel? Unsubscribe: $url"),
        "sms.prefix": Template("[Learning Trail]"),
    },
}


@dataclass(frozen=True)
class Message:
    """A message before it meets a channel: a title and a plain-text body."""

    title: str
    body: str


def _t(language: Language, name: str, **values: object) -> str:
    return TEMPLATES[language][name].substitute({k: str(v) for k, v in values.items()})


def _day(day: date, language: Language) -> str:
    return words.day(day)


def _lang(language: Language) -> words.Lang:
    return words.language(language)


def _money(amount: int, language: Language) -> str:
    grouped = f"{amount:,}"
    return grouped.replace(",", ".") + " đ" if language == Language.VI else f"VND {grouped}"


def _ages(low: int | None, high: int | None, language: Language) -> str:
    vi = language == Language.VI
    if low is not None and high is not None:
        return f"{low}–{high}"
    if low is not None:
        return f"từ {low}" if vi else f"{low} and over"
    return f"đến {high}" if vi else f"up to {high}"


def programme_message(programme: Programme, language: Language) -> Message:
    """A programme's essentials and how to enrol, in ``language``."""
    lines = [programme.title + (f" — {programme.description}" if programme.description else "")]
    pathway = words.label(_lang(language), "pathway", programme.pathway)
    lines.append(_t(language, "programme.kind", pathway=pathway))
    if programme.vqf_level is not None:
        level = words.level_label(_lang(language), programme.vqf_level)
        lines.append(_t(language, "programme.level", level=level))
    if programme.starts_on is not None:
        lines.append(_t(language, "programme.dates", starts=_day(programme.starts_on, language)))
    if programme.ends_on is not None:
        lines.append(_t(language, "programme.until", ends=_day(programme.ends_on, language)))
    if programme.min_age is not None or programme.max_age is not None:
        ages = _ages(programme.min_age, programme.max_age, language)
        lines.append(_t(language, "programme.ages", ages=ages))
    if programme.prior_vqf_level is not None:
        lines.append(_t(language, "programme.prior", prior=programme.prior_vqf_level))
    if programme.fee_vnd is not None:
        lines.append(
            _t(language, "programme.free")
            if programme.fee_vnd == 0
            else _t(language, "programme.fee", fee=_money(programme.fee_vnd, language))
        )
    if programme.capacity is not None:
        lines.append(_t(language, "programme.capacity", capacity=programme.capacity))
    lines.append(_t(language, "programme.enrol", how=programme.how_to_enrol))
    return Message(_t(language, "programme.title", title=programme.title), "\n".join(lines))


def inbox_message(programme: Programme, language: str) -> tuple[str, str]:
    """Title and body of the message about a programme, in the learner's language."""
    message = programme_message(programme, Language(language))
    return message.title, message.body


def recognition_message(granted: RecognitionGranted, language: Language) -> Message:
    """Telling a learner that learning of theirs was recognised (liên thông)."""
    outcome = granted.outcome_en if language == Language.EN and granted.outcome_en else None
    lines = [_t(language, "recognition.body", outcome=outcome or granted.outcome_vi)]
    if granted.toward:
        lines.append(_t(language, "recognition.toward", toward=granted.toward))
    if granted.credits is not None:
        credits = words.number(_lang(language), granted.credits)
        lines.append(_t(language, "recognition.credits", credits=credits))
    return Message(_t(language, "recognition.title"), "\n".join(lines))


def credential_message(issued: CredentialIssued, language: Language) -> Message:
    """Telling a learner that a signed credential was issued to them, and where to verify it."""
    lines = [
        _t(
            language,
            "credential.body",
            credential=issued.credential_id,
            count=len(issued.record_ids),
        )
    ]
    if issued.verify_url:
        lines.append(_t(language, "credential.verify", url=issued.verify_url))
    return Message(_t(language, "credential.title"), "\n".join(lines))


def digest_message(items: Sequence[Message], language: Language) -> Message:
    """Several messages as one: a count in the title, each message in turn in the body."""
    if len(items) == 1:
        return items[0]
    body = "\n\n".join(f"{n}. {m.body}" for n, m in enumerate(items, start=1))
    return Message(_t(language, "digest.title", count=len(items)), body)


def with_footer(message: Message, unsubscribe_url: str, language: Language) -> str:
    """The plain-text body of a pushed message, ending with its unsubscribe link."""
    return f"{message.body}\n\n--\n{_t(language, 'footer', url=unsubscribe_url)}"


def sms_text(message: Message, unsubscribe_url: str, language: Language) -> str:
    """A short text: the title and the last line (how to enrol), then the unsubscribe link."""
    last = message.body.splitlines()[-1] if message.body else ""
    return f"{_t(language, 'sms.prefix')} {message.title}. {last} {unsubscribe_url}"
