"""Spreadsheet applications that recalculate the generated workbooks."""
