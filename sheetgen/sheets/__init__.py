"""The sheets of a workbook, one module each."""
