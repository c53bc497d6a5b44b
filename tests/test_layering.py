"""Which way the doors open (ARCHITECTURE.md §3): every app imports only itself and the apps on
the floors below it. Read from the source with ``ast`` (imports inside functions count too);
tests, conftest files and test helpers under ``tests/`` folders are not checked: cross-app tests
set up data on every floor.

``plans`` sits between notifications and assessments (README "Decisions"); ``assessments`` and
``scheduling`` share a floor and import neither each other; ``reports`` reads everything below
it; ``iop`` (settings, URLs, the API router and its exception handler) is the top.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

from django.apps import apps
from django.conf import settings

FLOORS: list[tuple[str, ...]] = [
    ("users",),
    ("audit",),
    ("patients",),
    ("notifications",),
    ("plans",),
    ("assessments", "scheduling"),
    ("sessions",),
    ("billing",),
    ("reports",),
    ("iop",),
]
FLOOR = {app: level for level, names in enumerate(FLOORS) for app in names}

# Known exceptions, each with why it is still there; the test fails when one disappears too, so
# this list only shrinks. users → audit: the shared API building blocks (``users.api.base``), the
# audited-admin mixin and the token views record audit events directly; every app's API and
# admin use the first two, so moving them is a change of its own.
KNOWN: dict[tuple[str, str], str] = {
    ("users/admin_audit.py", "audit"): "AuditedAdminMixin records Action.ADMIN (used by every app's admin)",
    ("users/api/base.py", "audit"): "audited list/read building blocks of every app's API",
    ("users/api/tokens.py", "audit"): "token creation and revocation are audited",
}


def _is_test_module(path: Path, app_root: Path) -> bool:
    parts = path.relative_to(app_root).parts
    return "tests" in parts or path.name.startswith("test_") or path.name == "conftest.py"


def _imported_apps(path: Path) -> set[tuple[str, int]]:
    """(top-level package, line) for every absolute import in the module."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found |= {(alias.name.split(".")[0], node.lineno) for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add((node.module.split(".")[0], node.lineno))
    return found


def violations() -> dict[tuple[str, str], list[str]]:
    base = Path(settings.BASE_DIR)
    found: dict[tuple[str, str], list[str]] = {}
    for app, level in FLOOR.items():
        root = base / app
        for path in sorted(root.rglob("*.py")):
            if _is_test_module(path, root):
                continue
            for target, line in sorted(_imported_apps(path)):
                if target in FLOOR and target != app and FLOOR[target] >= level:
                    key = (path.relative_to(base).as_posix(), target)
                    found.setdefault(key, []).append(f"{key[0]}:{line} ({app} imports {target})")
    return found


def test_every_project_app_has_a_floor():
    base = Path(settings.BASE_DIR).resolve()
    ours = {
        Path(config.path).resolve().relative_to(base).parts[0]
        for config in apps.get_app_configs()
        if Path(config.path).resolve().is_relative_to(base)
        # A virtualenv inside the project folder (.venv) holds installed apps, not ours.
        and not Path(config.path).resolve().is_relative_to(Path(sys.prefix).resolve())
    }
    assert ours <= set(FLOOR), f"place these apps on a floor in FLOORS (and ARCHITECTURE.md §3): {ours - set(FLOOR)}"


def test_imports_go_only_down_the_floors():
    found = violations()
    new = [line for key, lines in found.items() if key not in KNOWN for line in lines]
    assert new == [], "imports against ARCHITECTURE.md §3:\n" + "\n".join(new)


def test_the_known_exceptions_are_still_real():
    gone = sorted(set(KNOWN) - set(violations()))
    assert gone == [], f"fixed, so remove them from KNOWN: {gone}"


def test_notifications_knows_nothing_of_the_floors_above_it():
    # ARCHITECTURE.md §3 in so many words: scheduling plans reminders, reports sweeps due work.
    above = {"scheduling", "sessions", "assessments", "plans", "reports", "iop"}
    root = Path(settings.BASE_DIR) / "notifications"
    offending = [
        f"{path.relative_to(root)}:{line} imports {target}"
        for path in sorted(root.rglob("*.py"))
        if not _is_test_module(path, root)
        for target, line in sorted(_imported_apps(path))
        if target in above
    ]
    assert offending == []


def test_the_checker_sees_imports_inside_functions(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from scheduling.models import TherapySession\n    import sessions.models\n")
    assert {target for target, _ in _imported_apps(module)} == {"scheduling", "sessions"}
