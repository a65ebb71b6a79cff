"""The one text policy: what free text a person writes may hold, wherever it enters.

Every field a person types — a title, a code, a grade, a reason, a topic, a centre's or a
learner's name — goes through :func:`text_problem` on its way in (API models, the CSV import,
preferences), and the contracts' :data:`~contracts.vocabulary.ShortText` and
:data:`~contracts.vocabulary.Text` apply it, so an event that carries such text was checked too.

The policy:

- the text is stored in NFC (Vietnamese diacritics kept; "ễ" typed as "e" + marks is the
  same text as the precomposed letter);
- no character that is not seen as what it is: control characters (Cc), formatting characters
  (Cf, which holds the zero-width space, joiners, the BOM and the bidirectional embeddings,
  overrides and isolates), line and paragraph separators (Zl, Zp), unassigned, private-use
  and surrogate code points, and letters that show as a blank (Hangul fillers, the braille
  blank). Long texts (descriptions) may hold newlines and tabs, nothing else of the kind;
- single-line fields that reach spreadsheets (everything but long descriptions) may not start
  with a character a spreadsheet runs as a formula: ``=``, ``+``, ``-``, ``@``, or a tab or
  carriage return in front of one (CSV injection, OWASP).

It refuses and says why (with the character's position and code point); it never strips
silently, since a changed name or grade would be a different name or grade.
"""

from __future__ import annotations

import unicodedata

from pydantic import ValidationInfo

# Characters that reorder how text is displayed (Unicode bidirectional controls). All are Cf
# but for U+061C, also Cf; named here so the refusal can say what they do.
BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
# Zero-width characters; all are Cf (refused as invisible formatting characters).
ZERO_WIDTH = frozenset("\u200b\u200c\u200d\u2060\ufeff\u180e")
# Letters and symbols that show as blank space without being whitespace.
INVISIBLE_LOOKALIKES = frozenset("\u115f\u1160\u3164\uffa0\u2800\u034f")
# What a spreadsheet reads as the start of a formula: '=', '+', '-', '@' and, ahead of them,
# a tab or carriage return.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    """A cell a spreadsheet will show as text, never run as a formula (CSV injection)."""
    text = "" if value is None else str(value)
    if text.lstrip(" ")[:1] in FORMULA_STARTS:
        return "'" + text
    return text


def describe(char: str) -> str:
    """``U+202E RIGHT-TO-LEFT OVERRIDE``: a character as a person can look it up."""
    return f"U+{ord(char):04X} {unicodedata.name(char, 'UNNAMED CHARACTER')}"


def hidden_character_problem(text: str, line_breaks: bool = False) -> str | None:
    """Why ``text`` must be refused because it holds a character that is not seen as what it
    is, or None when it holds none. ``line_breaks`` allows newlines and tabs (long texts)."""
    # Nearly all text is printable (no character of the categories Cc, Cf, Cs, Co, Cn, Zl, Zp
    # or Zs but the space), which one call in C tells; only the rest is read a character at a
    # time (the loop below gives the same answer, slower).
    if text.isprintable() and INVISIBLE_LOOKALIKES.isdisjoint(text):
        return None
    return first_hidden_character(text, line_breaks)


def first_hidden_character(text: str, line_breaks: bool = False) -> str | None:
    """:func:`hidden_character_problem`, one character at a time."""
    for position, char in enumerate(text, 1):
        if line_breaks and char in "\n\r\t":
            continue
        category = unicodedata.category(char)
        if char in BIDI_CONTROLS:
            return (
                f"character {position} is a text-direction control ({describe(char)}), which "
                "makes the text display in another order than it is stored; remove it"
            )
        if category == "Cf":
            return (
                f"character {position} is an invisible formatting character "
                f"({describe(char)}); remove it"
            )
        if category == "Cc":
            return f"character {position} is a control character ({describe(char)}); remove it"
        if category in ("Zl", "Zp"):
            return (
                f"character {position} is a line or paragraph separator ({describe(char)}); "
                "write the text on one line"
                + ("" if not line_breaks else ", or use an ordinary line break")
            )
        if category in ("Cn", "Co", "Cs"):
            return (
                f"character {position} ({describe(char)}) is unassigned or for private use; "
                "retype the text"
            )
        if char in INVISIBLE_LOOKALIKES:
            return (
                f"character {position} ({describe(char)}) shows as a blank but is not a space; "
                "remove it"
            )
    return None


def formula_problem(value: str) -> str | None:
    """Why a text is refused because a spreadsheet would run it as a formula, or None.

    Leading blanks are looked through, since a blank does not stop every spreadsheet."""
    raw = value.lstrip(" ")
    if raw[:1] in ("\t", "\r"):
        return "starts with a tab or carriage return, which hides a formula from view"
    if raw[:1] in FORMULA_STARTS:
        return (
            f"starts with {raw[0]!r}, which a spreadsheet runs as a formula; remove that "
            "character (or write the text another way)"
        )
    return None


def text_problem(value: str, *, long: bool = False) -> str | None:
    """Why ``value`` breaks the text policy, or None. ``long`` texts (descriptions) may hold
    line breaks and tabs and may start with any visible character; short ones may not start
    like a formula."""
    if problem := hidden_character_problem(value, line_breaks=long):
        return problem
    if not long and (problem := formula_problem(value)):
        return problem
    return None


# Validation context for reading back what entered earlier — events from the log, documents
# from the database: it was checked when it entered, and a rule added since must not make it
# unreadable (a replay of the log would drop a learner's record over a grade written last
# year). Text is then only put in NFC. Everything a person sends is validated without it.
STORED: dict[str, bool] = {"stored": True}


def is_stored(info: ValidationInfo | None) -> bool:
    """Whether this validation reads back stored data (``context=STORED``)."""
    return bool(info is not None and isinstance(info.context, dict) and info.context.get("stored"))


def checked_short_text(value: str, info: ValidationInfo) -> str:
    """``value`` in NFC when it follows the policy for one-line fields, else ``ValueError``."""
    value = unicodedata.normalize("NFC", value)
    if not is_stored(info) and (problem := text_problem(value)):
        raise ValueError(problem)
    return value


def checked_long_text(value: str, info: ValidationInfo) -> str:
    """``value`` in NFC when it follows the policy for long texts, else ``ValueError``."""
    value = unicodedata.normalize("NFC", value)
    if not is_stored(info) and (problem := text_problem(value, long=True)):
        raise ValueError(problem)
    return value


def visible_text(value: str) -> str:
    """``value`` unchanged when every character in it shows as what it is, else a
    ``ValueError`` saying which one does not (no formula check: for names and the like that
    are checked for that elsewhere)."""
    if problem := hidden_character_problem(value):
        raise ValueError(problem)
    return value


def visible_long_text(value: str) -> str:
    """As :func:`visible_text`, allowing line breaks and tabs (a description)."""
    if problem := hidden_character_problem(value, line_breaks=True):
        raise ValueError(problem)
    return value
