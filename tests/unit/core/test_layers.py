"""The house rules of DESIGN.md, checked on the source."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
FORBIDDEN = ("telegram", "nio", "aiohttp", "sqlalchemy")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("package", ["handlers", "domain"])
def test_conversations_and_rules_import_no_platform_or_database(package: str) -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(_imports(path) & set(FORBIDDEN))
        for path in (ROOT / package).rglob("*.py")
        if _imports(path) & set(FORBIDDEN)
    }
    assert not offenders


def test_domain_does_not_depend_on_the_other_layers() -> None:
    for path in (ROOT / "domain").rglob("*.py"):
        assert not _imports(path) & {"handlers", "bot", "storage", "documents", "jitsi"}, path


def test_channels_never_touch_storage() -> None:
    """Channels translate and render; what they learn is an engine input, not a write."""
    offenders = {
        str(path.relative_to(ROOT)): sorted(_imports(path) & {"storage", "sqlalchemy"})
        for path in (ROOT / "bot" / "channels").rglob("*.py")
        if _imports(path) & {"storage", "sqlalchemy"}
    }
    assert not offenders


def test_the_web_server_knows_no_channel_by_name() -> None:
    assert not _imports(ROOT / "bot" / "web.py") & {"telegram", "nio"}
    assert "channels.telegram" not in (ROOT / "bot" / "web.py").read_text(encoding="utf-8")
