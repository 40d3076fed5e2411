"""CSV for spreadsheets: one line at a time, and no cell that a spreadsheet would run."""

from __future__ import annotations

import csv
import io

# A spreadsheet would run a cell starting with these as a formula.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cell(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def csv_line(cells: list[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerow(cells)
    return buffer.getvalue()
