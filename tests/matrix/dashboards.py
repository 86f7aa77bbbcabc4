"""Authorization-matrix entries for the dashboard URLs (merged into MATRIX)."""

DASHBOARDS_MATRIX = {}


def dashboard_targets(world):
    """Extra objects the entries above name as targets (added to the matrix world)."""
    return {}
