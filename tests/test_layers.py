"""The house has floors: each app imports only the apps below it, and no modules import each other
in a circle (docs/architecture.md). Read from the source's import statements, the ones inside
functions too, so a lazy import cannot hide an arrow that runs back up."""

import ast
import graphlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Bottom to top. The project shell (settings, URLs, Celery, the home page) stands above them all.
LAYERS = [
    ["partyscore.core"],
    ["members"],
    ["scoring"],
    ["reviews"],
    ["partyscore.dashboards", "partyscore.api"],
    ["partyscore.demo"],
    ["partyscore"],
]
FLOOR = {app: floor for floor, apps in enumerate(LAYERS) for app in apps}
SHELL = {"partyscore", "partyscore.celery", "partyscore.home", "partyscore.urls", "partyscore.views", "partyscore.wsgi"}


def app_of(module):
    """The app a dotted module name belongs to (the longest app name that prefixes it), or None."""
    for app in sorted(FLOOR, key=len, reverse=True):
        if module == app or module.startswith(app + "."):
            return app
    return None


def source_modules():
    for app in FLOOR:
        folder = ROOT.joinpath(*app.split("."))
        for path in folder.rglob("*.py"):
            relative = path.relative_to(ROOT)
            if "migrations" in relative.parts or (app == "partyscore" and app_of(_dotted(relative)) != app):
                continue
            yield _dotted(relative), path


def _dotted(relative):
    parts = list(relative.with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(module, path):
    """Every module (or module.name) that `module` imports, relative imports resolved."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)


def graph():
    modules = dict(source_modules())
    return modules, {m: set(imports_of(m, path)) for m, path in modules.items()}


def test_no_import_runs_up_a_floor():
    _modules, edges = graph()
    upward = sorted(
        f"{source} → {target}"
        for source, targets in edges.items()
        for target in targets
        if (a := app_of(target)) is not None and FLOOR[a] > FLOOR[app_of(source)]
    )
    assert upward == []


def test_the_project_package_holds_only_its_shell_beside_its_apps():
    modules, _edges = graph()
    loose = sorted(
        m for m in modules if app_of(m) == "partyscore" and m not in SHELL and not m.startswith("partyscore.settings")
    )
    assert loose == []


def test_no_modules_import_each_other_in_a_circle():
    modules, edges = graph()
    arrows = {source: {t for t in targets if t in modules and t != source} for source, targets in edges.items()}
    try:
        graphlib.TopologicalSorter(arrows).prepare()
    except graphlib.CycleError as circle:
        pytest.fail("modules import each other in a circle: " + " → ".join(circle.args[1]))


def test_the_checks_see_an_arrow_that_runs_up(tmp_path):
    """The reader itself: an import up a floor, written inside a function, is found."""
    path = tmp_path / "x.py"
    path.write_text("def f():\n    from reviews.services import notify\n")
    assert "reviews.services" in set(imports_of("scoring.x", path))
    assert FLOOR[app_of("reviews.services")] > FLOOR[app_of("scoring.x")]
