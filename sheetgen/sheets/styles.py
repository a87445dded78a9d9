"""Cell formats shared by every sheet of a workbook."""

from __future__ import annotations

from xlsxwriter.format import Format
from xlsxwriter.workbook import Workbook

INPUT_FILL = "#FFF2CC"  # pale yellow with blue text: the usual look of an input cell
HEADER_FILL = "#DDEBF7"
COLUMN_WIDTH = 12


def make_formats(workbook: Workbook) -> dict[str, Format]:
    """Create the named formats: title, note, caption, header, input, knob_name, link, cell."""
    return {
        "title": workbook.add_format({"bold": True, "font_size": 14}),
        "note": workbook.add_format({"italic": True, "font_color": "#595959"}),
        "caption": workbook.add_format({"bold": True}),
        "header": workbook.add_format(
            {
                "bold": True,
                "text_wrap": True,
                "valign": "bottom",
                "align": "center",
                "bg_color": HEADER_FILL,
                "bottom": 1,
            }
        ),
        "input": workbook.add_format(
            {"bg_color": INPUT_FILL, "font_color": "#0000CC", "border": 1, "align": "right"}
        ),
        "knob_name": workbook.add_format({"bold": True, "align": "center"}),
        "knob_note": workbook.add_format(
            {"italic": True, "font_color": "#595959", "font_size": 9, "align": "center"}
        ),
        "link": workbook.add_format({"font_color": "#0563C1", "underline": 1}),
        "text": workbook.add_format({"text_wrap": True, "valign": "top"}),
        # General shows as many digits as fit; the indent keeps a gap between neighbours.
        "number": workbook.add_format({"align": "right", "indent": 1}),
    }
