"""Authorization-matrix entries for the export/import URLs (merged into MATRIX)."""

IO_MATRIX = {}
