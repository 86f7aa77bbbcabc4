"""Authorization-matrix entries for the export/import URLs (merged into MATRIX)."""

IO_MATRIX = {}


def io_targets(world):
    """Extra objects the entries above name as targets (added to the matrix world)."""
    return {}
