"""Write a template's workbook: the About sheet, the data sheet and one training sheet per run."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import xlsxwriter

from .data import Dataset
from .errors import InputError
from .sheets.about import write_about_sheet
from .sheets.data_sheet import write_data_sheet
from .sheets.styles import make_formats
from .sheets.training_sheet import write_training_sheet
from .simulator import Run
from .template import Template
from .training import STEPS


@dataclass(frozen=True)
class WorkbookSummary:
    """A written workbook's path, number of sheets and number of step rows."""

    path: Path
    sheets: int
    step_rows: int


def write_workbook(
    template: Template, data: Dataset, runs: list[Run], path: Path
) -> WorkbookSummary:
    """Write the workbook of `template` to `path`, with each run's values cached in its formulas.

    The file is written next to `path` under a temporary name and renamed over it only when
    complete, so an existing workbook is never left half-written.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(
            prefix=f".{path.stem}-", suffix=".xlsx", dir=path.parent
        )
    except OSError as error:
        raise InputError(
            f"{path}: cannot write the workbook ({error.strerror}); choose another folder with -o."
        ) from None
    os.close(handle)
    try:
        workbook = xlsxwriter.Workbook(temporary, {"nan_inf_to_errors": True})
        formats = make_formats(workbook)
        write_about_sheet(workbook, formats, template, data)
        write_data_sheet(workbook, formats, data)
        for run in runs:
            write_training_sheet(workbook, formats, run)
        workbook.close()
        # mkstemp creates the file readable by its owner only; give it the usual mode.
        os.chmod(temporary, 0o666 & ~_current_umask())
        try:
            os.replace(temporary, path)
        except OSError as error:
            raise InputError(f"{path}: cannot replace the workbook ({error.strerror}).") from None
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)

    step_rows = sum(len(run.tables[STEPS]["step"]) for run in runs)
    return WorkbookSummary(path=path, sheets=2 + len(runs), step_rows=step_rows)


def _current_umask() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return umask
