"""Learner identity without I/O: the keyed hash of a national ID number, and name matching.

The 12-digit personal identification number (CCCD) is sensitive: it is hashed with HMAC-SHA256
under a secret key as soon as it arrives, and only the hash is stored. It never appears in an
event, a log line or a trace.

Names are checked for what cannot be seen: a learner's name is written in the Latin letters of
the Vietnamese alphabet, so "Nguyễn" typed with a Cyrillic "е", or carrying a zero-width space
or a text-direction control, is refused with the reason — such a name would look like someone
else's on screen and on a credential while comparing as a different person.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from datetime import date
from typing import Annotated

from pydantic import AfterValidator

from contracts.text import describe, hidden_character_problem
from contracts.vocabulary import ShortText

_NATIONAL_ID = re.compile(r"^[0-9]{12}$")


def is_national_id(value: str) -> bool:
    """Whether ``value`` has the form of a personal identification number (12 digits)."""
    return bool(_NATIONAL_ID.match(value))


def national_id_hash(key: bytes, national_id: str) -> str:
    """The lookup hash of a national ID number under the service's identity key."""
    return hmac.new(key, national_id.encode("ascii"), hashlib.sha256).hexdigest()


def normalise_name(name: str) -> str:
    """A name as stored: NFC, single spaces, diacritics kept."""
    return " ".join(unicodedata.normalize("NFC", name).split())


def folded_name(name: str) -> str:
    """A name for comparison only: no diacritics (đ as d), no case, single spaces.

    "Nguyễn Thị Hương" and "NGUYEN THI HUONG" fold to the same text; stored names keep their
    diacritics.
    """
    decomposed = unicodedata.normalize("NFD", name.replace("đ", "d").replace("Đ", "D"))
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(bare.casefold().split())


def same_person(stored_name: str, stored_birth: date, given_name: str, given_birth: date) -> bool:
    """Whether a submission's name and birth date agree with the learner found by national ID.

    Diacritics, case and spacing may differ (centres type names differently); the birth date
    must be the same.
    """
    return stored_birth == given_birth and folded_name(stored_name) == folded_name(given_name)


# The marks Vietnamese writes on letters: one of the five tones (grave, acute, tilde, hook
# above, dot below) and one of the vowel marks (circumflex, breve, horn), at most.
TONE_MARKS = frozenset("\u0300\u0301\u0303\u0309\u0323")
VOWEL_MARKS = frozenset("\u0302\u0306\u031b")
VIETNAMESE_MARKS = TONE_MARKS | VOWEL_MARKS
# What a name may hold besides letters: "H'Hen Niê", "Nguyễn-Trần", "Nguyễn Văn A."
NAME_PUNCTUATION = frozenset(" -'.")
_TYPOGRAPHIC_APOSTROPHES = frozenset("\u2018\u2019\u02bc\u02b9\u0060\u00b4")


def _vietnamese_letter(letter: str) -> bool:
    """Whether ``letter`` (a letter and any combining marks after it) is a letter of the
    Vietnamese alphabet, or a plain Latin one, with at most one tone and one vowel mark."""
    if letter in ("đ", "Đ"):
        return True
    decomposed = unicodedata.normalize("NFD", letter)
    base, marks = decomposed[0], decomposed[1:]
    return (
        base.isascii()
        and base.isalpha()
        and set(marks) <= VIETNAMESE_MARKS
        and sum(m in TONE_MARKS for m in marks) <= 1
        and sum(m in VOWEL_MARKS for m in marks) <= 1
    )


# Every character a name may hold on its own (in NFC): the precomposed letters the check
# below accepts, and the punctuation. A name made only of these passes the letter-by-letter
# check, so that check runs only for the rest (a letter with marks kept apart, anything else).
_NAME_CHARACTERS = NAME_PUNCTUATION | frozenset(
    char
    for code in (*range(0x41, 0x250), *range(0x1E00, 0x1F00))
    if unicodedata.category(char := chr(code)).startswith("L") and _vietnamese_letter(char)
)


def _letter_problem(label: str, letter: str) -> str:
    base = unicodedata.normalize("NFD", letter)[0]
    script = unicodedata.name(base, "OTHER").split()[0].capitalize()
    if script not in ("Latin", "Other"):
        return (
            f"{label} is a {script} letter, not a Latin one, though it may look the same; "
            "retype it with a Vietnamese keyboard"
        )
    if base.isascii() or base in "đĐ":
        return (
            f"{label} carries marks Vietnamese does not write (one tone and one of ^, ˘ and "
            "the horn at most); retype it with a Vietnamese keyboard"
        )
    return (
        f"{label} is not a letter of the Vietnamese alphabet; retype it with a Vietnamese keyboard"
    )


def name_problem(name: str) -> str | None:
    """Why ``name`` cannot be a learner's full name, or None when it can.

    A name is written in Latin letters with Vietnamese diacritics, and may hold spaces,
    hyphens, apostrophes and periods; it starts with a letter. Letters from other scripts that
    look Latin (Cyrillic "е", Greek "ο", fullwidth "Ｎ"), marks Vietnamese does not use, digits,
    symbols and anything invisible are refused, each with the character's position and code
    point so it can be found and retyped. The check reads the NFC form; it changes nothing.
    """
    text = unicodedata.normalize("NFC", name)
    if (
        text.strip()
        and _NAME_CHARACTERS.issuperset(text)
        and text.lstrip()[0] not in NAME_PUNCTUATION
    ):
        return None
    return name_problem_by_letter(text)


def name_problem_by_letter(text: str) -> str | None:
    """:func:`name_problem` of an NFC ``text``, one letter at a time."""
    if problem := hidden_character_problem(text):
        return problem
    if not text.strip():
        return "a name needs letters"
    position = 0
    while position < len(text):
        char = text[position]
        category = unicodedata.category(char)
        label = f"character {position + 1} '{char}' ({describe(char)})"
        if category.startswith("L"):
            end = position + 1
            while end < len(text) and unicodedata.combining(text[end]):
                end += 1  # a letter with no precomposed form keeps its marks apart
            letter = text[position:end]
            if not _vietnamese_letter(letter):
                described = ", ".join(describe(c) for c in letter)
                return _letter_problem(f"character {position + 1} '{letter}' ({described})", letter)
            position = end
            continue
        if category.startswith("M"):
            return f"{label} is a mark that stands on no letter; remove it"
        if category == "Nd":
            return f"{label} is a digit; a name holds no digits"
        if char in _TYPOGRAPHIC_APOSTROPHES:
            return f"{label} is not the plain apostrophe; use ' (U+0027) instead"
        if char not in NAME_PUNCTUATION:
            return (
                f"{label} is not allowed in a name: use letters, spaces, hyphens (-), "
                "apostrophes (') and periods (.)"
            )
        position += 1
    if not unicodedata.category(text.lstrip()[0]).startswith("L"):
        return "a name starts with a letter"
    return None


def checked_name(value: str) -> str:
    """A learner's full name as stored — NFC, single spaces, diacritics kept — or a
    ``ValueError`` saying what is wrong with it (for pydantic validators)."""
    problem = hidden_character_problem(unicodedata.normalize("NFC", value))
    if problem is None:
        value = normalise_name(value)
        problem = name_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


def _national_id(value: str) -> str:
    value = value.strip()
    if not is_national_id(value):
        raise ValueError("must be the 12-digit personal identification number (CCCD)")
    return value


def _person_name(value: str) -> str:
    # Latin letters with Vietnamese diacritics only: a look-alike or invisible character
    # would put another person's name on the trail and credentials
    return checked_name(value)


NationalId = Annotated[str, AfterValidator(_national_id)]
"""A 12-digit personal identification number, as submitted (hashed on arrival)."""
PersonName = Annotated[ShortText, AfterValidator(_person_name)]
"""A person's name: NFC, Latin letters with Vietnamese diacritics, nothing hidden."""
