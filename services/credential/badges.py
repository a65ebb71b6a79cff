"""Badge images for credentials, as self-contained SVG ``data:`` URIs — no I/O, no font or
image fetched from anywhere, so a credential shows its badges offline and the signed bytes
never depend on a server. The same inputs always give the same image (the proof covers it).

- the department (the issuer): a round seal with its initials;
- a training centre (an achievement's creator): a square with its initials;
- an achievement: a shield in the colour of its pathway with its level (or code) written on it.
"""

from __future__ import annotations

import base64
import unicodedata
from html import escape

# One colour per pathway (contracts.vocabulary.Pathway values); anything else is grey.
PATHWAY_COLOURS = {
    "regular": "#1d4e89",
    "continuing": "#2a7f62",
    "vocational": "#b5541b",
    "in_service": "#5b3f8c",
    "literacy": "#8c6d1f",
    "online": "#1f7a8c",
    "community": "#6b8c1f",
    "recognition": "#8c1f4a",
}
_SKIPPED_WORDS = {"và", "của", "the", "of", "and", "&"}


def data_uri(svg: str) -> str:
    """An SVG document as a ``data:image/svg+xml;base64,…`` URI."""
    encoded = base64.b64encode(svg.encode("utf-8")).decode("ascii")
    return f"data:image/svg+xml;base64,{encoded}"


def initials(name: str, most: int = 3) -> str:
    """The first letters of the first words of a name, at most ``most`` (``Sở Giáo dục và
    Đào tạo`` → ``SGDĐT`` with five; diacritics kept)."""
    letters = [
        w[0].upper()
        for w in unicodedata.normalize("NFC", name).replace("-", " ").split()
        if w and w.casefold() not in _SKIPPED_WORDS and w[0].isalnum()
    ]
    return "".join(letters[:most]) or "?"


def _svg(body: str, title: str) -> str:
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" width="128" height="128" '
        f'viewBox="0 0 128 128" role="img"><title>{escape(title)}</title>{body}</svg>'
    )


def _text(value: str, y: int, size: int, colour: str = "#fff") -> str:
    return (
        f'<text x="64" y="{y}" font-family="sans-serif" font-size="{size}" '
        f'font-weight="bold" text-anchor="middle" fill="{colour}">{escape(value)}</text>'
    )


def issuer_badge(name: str) -> str:
    """The department's seal: a red disc with a gold ring and its initials."""
    body = (
        '<circle cx="64" cy="64" r="62" fill="#c8102e"/>'
        '<circle cx="64" cy="64" r="52" fill="none" stroke="#ffcd00" stroke-width="4"/>'
        '<polygon points="64,22 69,36 84,36 72,45 76,59 64,51 52,59 56,45 44,36 59,36" '
        'fill="#ffcd00"/>' + _text(initials(name, 5), 92, 20)
    )
    return data_uri(_svg(body, name))


def centre_badge(name: str) -> str:
    """A training centre's badge: a rounded square with its initials."""
    body = '<rect x="2" y="2" width="124" height="124" rx="18" fill="#1d4e89"/>' + _text(
        initials(name), 78, 40
    )
    return data_uri(_svg(body, name))


def achievement_badge(title: str, pathway: str, label: str | None) -> str:
    """An achievement's badge: a shield in its pathway's colour with ``label`` (its level or
    code, shortened) on it, titled with the achievement's name."""
    colour = PATHWAY_COLOURS.get(pathway, "#555555")
    shown = (label or initials(title))[:12]
    body = (
        f'<path d="M64 4 L120 22 L114 84 Q100 112 64 124 Q28 112 14 84 L8 22 Z" '
        f'fill="{colour}"/>'
        '<path d="M64 16 L108 30 L103 80 Q92 102 64 112 Q36 102 25 80 L20 30 Z" '
        'fill="none" stroke="#fff" stroke-width="3"/>'
        + _text(shown, 72, 18 if len(shown) > 6 else 26)
    )
    return data_uri(_svg(body, title))
