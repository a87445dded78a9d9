"""Native charts of a training sheet. Every one is an XY scatter, so its x axis is numeric.

A category axis would space its points evenly whatever their x values, which misdraws
randomly drawn x values and step numbers alike.
"""

from __future__ import annotations

from xlsxwriter.chart import Chart
from xlsxwriter.workbook import Workbook

CHART_SIZE = {"x_scale": 1.1, "y_scale": 1.0, "x_offset": 4, "y_offset": 4}
_LINE = {"width": 1.5}


def scatter(workbook: Workbook, title: str, x_title: str, y_title: str) -> Chart:
    """Return an XY scatter chart with titled axes and the legend at the bottom."""
    chart = workbook.add_chart({"type": "scatter", "subtype": "straight"})
    chart.set_title({"name": title, "name_font": {"size": 12}})
    chart.set_x_axis({"name": x_title, "major_gridlines": {"visible": False}})
    chart.set_y_axis({"name": y_title, "major_gridlines": {"visible": True}})
    chart.set_legend({"position": "bottom"})
    return chart


def add_line(chart: Chart, name: str, x_range: list, y_range: list, markers: bool = False) -> None:
    """Add a series drawn as a line; `x_range` and `y_range` are [sheet, r1, c1, r2, c2]."""
    series = {"name": name, "categories": x_range, "values": y_range, "line": _LINE}
    series["marker"] = {"type": "circle", "size": 5} if markers else {"type": "none"}
    chart.add_series(series)


def add_points(chart: Chart, name: str, x_range: list, y_range: list) -> None:
    """Add a series drawn as markers only."""
    chart.add_series(
        {
            "name": name,
            "categories": x_range,
            "values": y_range,
            "line": {"none": True},
            "marker": {"type": "circle", "size": 5},
        }
    )
