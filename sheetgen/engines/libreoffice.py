"""Recalculate workbooks with headless LibreOffice and read back their cells.

XlsxWriter stores each formula with a cached value that sheetgen computes with its
NumPy simulator. `recalculate` makes LibreOffice compute every formula again and save
a copy, so comparing `read_values` of that copy with the simulator tests the formulas.

Error values as LibreOffice 7.4.7 writes them to xlsx and `read_values` returns them:
an overflow such as `=1E200*1E200`, `=EXP(1000)` or `=10^400` gives "#NUM!", `=1/0`
gives "#DIV/0!" and `=NA()` gives "#N/A". `=SQRT(-1)` gives "#VALUE!", where Excel
gives "#NUM!".

LibreOffice 7.4.7 rounds `a-b`, `a+b` and `SUM` of two operands to 0 when they cancel
to within |a| * 2^-48, where NumPy keeps the last bits, and `=a=b` is TRUE then too.
"""

import contextlib
import hashlib
import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

from openpyxl import load_workbook
from openpyxl.worksheet.formula import ArrayFormula

__all__ = [
    "LibreOfficeError",
    "find_soffice",
    "read_formulas",
    "read_values",
    "recalculate",
]

# Recalculation mode 0 means "always recalculate" when LibreOffice loads a file. The
# default for xlsx is "never", and then the converted copy repeats the cached values.
_RECALC_ON_LOAD_SETTINGS = """\
<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry"
           xmlns:xs="http://www.w3.org/2001/XMLSchema"
           xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Calc/Formula/Load">\
<prop oor:name="OOXMLRecalcMode" oor:op="fuse"><value>0</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Formula/Load">\
<prop oor:name="ODFRecalcMode" oor:op="fuse"><value>0</value></prop></item>
</oor:items>
"""

# Lines of soffice output quoted in an error message, counted from the end.
_OUTPUT_LINES_IN_ERROR = 5


class LibreOfficeError(RuntimeError):
    """Failure to recalculate a workbook with LibreOffice, raised by `recalculate`."""


def find_soffice() -> str | None:
    """Return the path of `soffice` (or else `libreoffice`) on PATH, or None."""
    for program in ("soffice", "libreoffice"):
        path = shutil.which(program)
        if path is not None:
            return path
    return None


def recalculate(workbook: Path, out_dir: Path, timeout: float = 180) -> Path:
    """Recalculate every formula of `workbook` in LibreOffice and save it as xlsx.

    Args:
        workbook: the workbook to recalculate, in xlsx or another format that
            LibreOffice Calc opens.
        out_dir: the folder for the recalculated copy, created if missing.
        timeout: seconds to wait for LibreOffice before it is killed.

    Returns:
        The path of the copy, `out_dir / (workbook.stem + ".xlsx")`. An existing file
        of that name is replaced.

    Raises:
        LibreOfficeError: if the workbook is not found, soffice is not on PATH, soffice
            fails, times out or writes no copy, or the copy would replace the workbook.

    Each call starts its own LibreOffice process with a new temporary user profile,
    so calls may run one after another or at the same time. The profile is removed
    afterwards.
    """
    workbook = Path(workbook)
    out_dir = Path(out_dir)
    recalculated = out_dir / f"{workbook.stem}.xlsx"

    if not workbook.is_file():
        raise LibreOfficeError(
            f"Cannot recalculate {workbook} because the file was not found."
        )
    if recalculated.exists() and recalculated.resolve() == workbook.resolve():
        raise LibreOfficeError(
            f"Cannot recalculate {workbook} into {out_dir} because the copy would"
            " replace the workbook, so choose another output folder."
        )
    soffice = find_soffice()
    if soffice is None:
        raise LibreOfficeError(
            f"Cannot recalculate {workbook} because neither soffice nor libreoffice"
            " was found on PATH (install LibreOffice Calc, for example the Debian"
            " package libreoffice-calc-nogui)."
        )

    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="sheetgen-libreoffice-") as scratch:
        profile = Path(scratch, "profile")
        (profile / "user").mkdir(parents=True)
        (profile / "user" / "registrymodifications.xcu").write_text(
            _RECALC_ON_LOAD_SETTINGS, encoding="utf-8"
        )

        # soffice writes into a folder of this call only, so neither a stale file in
        # out_dir nor a concurrent call on a same-named workbook can pass for its copy.
        convert_dir = Path(scratch, "converted")
        command = [
            soffice,
            f"-env:UserInstallation={profile.as_uri()}",
            "--headless",
            "--norestore",
            "--convert-to",
            "xlsx",
            "--outdir",
            str(convert_dir),
            str(workbook),
        ]
        # TMPDIR keeps the temporary files of LibreOffice in the scratch folder too.
        environment = {**os.environ, "TMPDIR": scratch}
        try:
            output = _run_soffice(command, environment, workbook, timeout)
        finally:
            _remove_ipc_socket(profile)

        # soffice exits with status 0 even when it cannot load the workbook.
        converted = convert_dir / recalculated.name
        if not converted.is_file():
            raise LibreOfficeError(
                f"LibreOffice wrote no recalculated copy of {workbook}, which is"
                f" probably not a valid workbook (soffice output: {_tail(output)!r})."
            )
        shutil.move(converted, recalculated)

    return recalculated


def read_values(workbook: Path) -> dict[str, dict[str, object]]:
    """Read the cached values of all non-empty cells as sheet -> {"A1" ref -> value}.

    Numbers come back as int or float, text as str and booleans as bool. An error
    value is its string, such as "#NUM!" or "#DIV/0!". Every sheet has an entry.

    LibreOffice 7.4.7 writes numbers to xlsx rounded to 15 significant digits, a
    relative error of up to 5e-15, so compare its values with a relative tolerance.
    """
    # NOTE: LibreOffice writes a cell whose value is an infinity, such as a constant
    # beyond 1.8E+308, as "INF" or "-INF", and openpyxl 3.1 raises ValueError on it.
    book = load_workbook(workbook, read_only=True, data_only=True)
    try:
        return {
            sheet.title: {
                cell.coordinate: cell.value
                for row in sheet.iter_rows()
                for cell in row
                if cell.value is not None
            }
            for sheet in book.worksheets
        }
    finally:
        book.close()


def read_formulas(workbook: Path) -> dict[str, dict[str, str]]:
    """Read the formulas of all formula cells as sheet -> {"A1" ref -> "=..."}.

    An array formula comes back as its text, like a plain formula. Every sheet has an
    entry, even one without formulas.
    """
    book = load_workbook(workbook, read_only=True, data_only=False)
    try:
        formulas: dict[str, dict[str, str]] = {}
        for sheet in book.worksheets:
            formulas[sheet.title] = {}
            for row in sheet.iter_rows():
                for cell in row:
                    # Type "f" separates a formula from text that starts with "=".
                    if cell.data_type != "f":
                        continue
                    text = cell.value
                    if isinstance(text, ArrayFormula):
                        text = text.text
                    formulas[sheet.title][cell.coordinate] = text
        return formulas
    finally:
        book.close()


def _run_soffice(
    command: list[str], environment: dict[str, str], workbook: Path, timeout: float
) -> str:
    """Run soffice and return its combined stdout and stderr."""
    # soffice is a shell script that starts oosplash, which starts soffice.bin. A new
    # session puts all three in one process group, so a timeout can kill them all.
    process = subprocess.Popen(
        command,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        # ProcessLookupError means that every process of the group has exited meanwhile.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        raise LibreOfficeError(
            f"LibreOffice timed out after {timeout:g} s while recalculating {workbook},"
            " so pass a larger timeout if the workbook is large."
        ) from None

    if process.returncode != 0:
        raise LibreOfficeError(
            f"LibreOffice failed with exit status {process.returncode} while"
            f" recalculating {workbook} (soffice output: {_tail(output)!r})."
        )
    return output


def _remove_ipc_socket(profile: Path) -> None:
    """Delete the socket that a killed soffice leaves behind for `profile`."""
    # soffice removes this socket when it exits normally, but not when the timeout
    # kills it. LibreOffice 7.4.7 names it after the MD5 of the UTF-16-LE profile URL,
    # each byte in hex without a leading zero (observed, not documented), and puts it
    # in /tmp, or in /var/tmp when /tmp is not writable.
    url = profile.as_uri().encode("utf-16-le")
    digest = hashlib.md5(url, usedforsecurity=False).digest()
    hex_digest = "".join(format(byte, "x") for byte in digest)
    name = f"OSL_PIPE_{os.getuid()}_SingleOfficeIPC_{hex_digest}"
    for folder in ("/tmp", "/var/tmp"):
        with contextlib.suppress(FileNotFoundError):
            Path(folder, name).unlink()


def _tail(output: str) -> str:
    lines = [line for line in output.splitlines() if line.strip()]
    return " / ".join(lines[-_OUTPUT_LINES_IN_ERROR:])
