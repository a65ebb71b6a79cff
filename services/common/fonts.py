"""DejaVu Sans for the PDFs the services make (reportlab): it has every Vietnamese letter and
ships inside matplotlib, a dependency already, so nothing is fetched and no system font is
needed. Registered once per process, as the family ``DejaVuSans`` (regular, bold, italic)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import matplotlib
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

FONT = "DejaVuSans"
BOLD = f"{FONT}-Bold"


@cache
def register_fonts() -> None:
    """DejaVu Sans (regular, bold, italic) from matplotlib's own fonts, registered once."""
    folder = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    for name, file in (
        (FONT, "DejaVuSans.ttf"),
        (BOLD, "DejaVuSans-Bold.ttf"),
        (f"{FONT}-Oblique", "DejaVuSans-Oblique.ttf"),
        (f"{FONT}-BoldOblique", "DejaVuSans-BoldOblique.ttf"),
    ):
        pdfmetrics.registerFont(TTFont(name, str(folder / file)))
    pdfmetrics.registerFontFamily(
        FONT,
        normal=FONT,
        bold=BOLD,
        italic=f"{FONT}-Oblique",
        boldItalic=f"{FONT}-BoldOblique",
    )
