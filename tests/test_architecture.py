"""Layering rules: the core knows nothing of channels, and nothing patches our own modules in tests."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = {
    "bot/domain": ("bot.handlers", "bot.services", "bot.storage", "bot.flows", "aiohttp", "telegram", "sqlalchemy"),
    "bot/flows": ("bot.handlers", "bot.services", "bot.storage", "aiohttp", "telegram", "sqlalchemy"),
    "bot/services": ("bot.handlers", "aiohttp", "telegram"),
    "bot/storage": ("bot.handlers", "bot.services", "aiohttp", "telegram"),
}


def imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_layers_import_only_downwards() -> None:
    broken = []
    for folder, forbidden in FORBIDDEN.items():
        for path in (ROOT / folder).rglob("*.py"):
            for name in imports(path):
                if name.startswith(forbidden):
                    broken.append(f"{path.relative_to(ROOT)} imports {name}")
    assert not broken, broken


def test_the_whatsapp_channel_reaches_the_database_only_through_services() -> None:
    broken = [f"{path.relative_to(ROOT)} imports {name}"
              for path in (ROOT / "bot/handlers").glob("whatsapp*.py") for name in imports(path)
              if name.startswith("bot.storage")]
    assert not broken, broken


def test_tests_never_patch_our_modules() -> None:
    offenders = [str(path.relative_to(ROOT)) for path in (ROOT / "tests").rglob("*.py")
                 if "mock.patch" in path.read_text(encoding="utf-8") and path.name != "test_architecture.py"]
    assert not offenders, offenders
