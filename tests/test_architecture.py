"""Architecture rules over the import graph of bot/, and nothing patches our own modules in tests.

The graph is built with `ast` from every import statement, those inside functions and `if TYPE_CHECKING:` too:
a type-only import still ties two modules together. `from bot.flows import notices` is an edge to the module
`bot.flows.notices`; `from bot.flows.spec import Outbound` an edge to `bot.flows.spec`. A package's own
`__init__` is not counted as imported by its submodules (Python runs it first, but it is not a dependency).

Layers, lowest first; a module may import its own layer and those listed for it:

    domain   <- flows <- services <- handlers <- app <- cli
    storage  sits beside the flows: services use it, it uses only the domain

`bot.config` and `bot.i18n` are the shared base: every layer may use them, they use only the domain.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BOT = ROOT / "bot"

BASE = {"bot.config", "bot.i18n"}
# Layer of a module: the first prefix that matches (a package and everything in it, or one module).
LAYER_OF = {
    "bot.domain": "domain",
    "bot.flows": "flows",
    "bot.storage": "storage",
    "bot.services": "services",
    "bot.handlers": "handlers",
    "bot.app": "app",
    "bot.cli": "cli", "bot.cli_calendar": "cli", "bot.cli_staff": "cli", "bot.cli_whatsapp": "cli", "bot.cli_privacy": "cli",
    "bot.__main__": "cli",
    **{name: "base" for name in BASE},
}
BELOW = {  # what each layer may import besides itself and the base
    "base": {"domain"},
    "domain": set(),
    "flows": {"domain"},
    "storage": {"domain"},
    "services": {"domain", "flows", "storage"},
    "handlers": {"domain", "flows", "services"},
    "app": {"domain", "flows", "storage", "services", "handlers"},
    "cli": {"domain", "flows", "storage", "services", "handlers", "app"},
}
# Known upward edges, each with its reason; the test fails when one is no longer there, so the list stays true.
EXCEPTIONS = {
    ("bot.i18n", "bot.flows.short_labels"):
        "i18n reads the short-label table lazily, inside a function; the table is data (msgids), no flow code",
}
# Third-party libraries a layer must not know: the core knows nothing of channels or of the database engine.
FORBIDDEN_LIBRARIES = {
    "domain": ("aiohttp", "telegram", "sqlalchemy"),
    "flows": ("aiohttp", "telegram", "sqlalchemy"),
    "storage": ("aiohttp", "telegram"),
    "services": ("aiohttp", "telegram"),
}
# The long-lived parts of a running app: only the composition root (bot/app.py) builds them.
WIRED = {"Conversations", "Dispatcher", "Lifecycle", "CalendarAdmin", "Jobs", "Scheduler", "StaffAdmin", "WebChat", "Retention",
         "WhatsAppInbox"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(path): path for path in sorted(BOT.rglob("*.py"))}


def imported_names(name: str) -> Iterator[str]:
    """Every name `name` imports, resolved to a module of bot/ where there is one (third-party names as written)."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            for alias in node.names:
                yield f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base


def import_graph() -> dict[str, set[str]]:
    """Module of bot/ -> the modules of bot/ it imports."""
    return {name: {target for target in imported_names(name) if target in MODULES and target != name}
            for name in MODULES}


def layer(name: str) -> str | None:
    for prefix, found in LAYER_OF.items():
        if name == prefix or name.startswith(prefix + "."):
            return found
    return None


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a path that ends where it starts, or None."""
    done: set[str] = set()
    path: list[str] = []
    on_path: set[str] = set()

    def visit(node: str) -> list[str] | None:
        path.append(node)
        on_path.add(node)
        for target in sorted(graph.get(node, ())):
            if target in on_path:
                return path[path.index(target):] + [target]
            if target not in done and (cycle := visit(target)) is not None:
                return cycle
        path.pop()
        on_path.discard(node)
        done.add(node)
        return None

    for start in sorted(graph):
        if start not in done and (cycle := visit(start)) is not None:
            return cycle
    return None


def test_the_import_graph_has_no_cycle() -> None:
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_the_cycle_finder_finds_one() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def test_every_module_has_a_layer() -> None:
    missing = [name for name in MODULES if name != "bot" and layer(name) is None]
    assert not missing, f"add these to LAYER_OF in tests/test_architecture.py: {missing}"


def test_layers_import_only_downwards() -> None:
    broken = []
    for name, targets in import_graph().items():
        own = layer(name)
        if own is None:
            continue
        allowed = {own, "base"} | BELOW[own]
        broken += [f"{name} ({own}) imports {target} ({layer(target)})" for target in sorted(targets)
                   if layer(target) is not None and layer(target) not in allowed
                   and (name, target) not in EXCEPTIONS]
    assert not broken, "\n".join(broken)


def test_the_listed_exceptions_still_exist() -> None:
    graph = import_graph()
    stale = [edge for edge in EXCEPTIONS if edge[1] not in graph.get(edge[0], set())]
    assert not stale, f"remove from EXCEPTIONS: {stale}"


def test_storage_imports_nothing_of_the_flows() -> None:
    broken = [f"{name} imports {target}" for name, targets in import_graph().items() if layer(name) == "storage"
              for target in sorted(targets) if layer(target) == "flows"]
    assert not broken, broken


def test_handlers_reach_the_database_only_through_services() -> None:
    broken = [f"{name} imports {target}" for name in MODULES if layer(name) == "handlers"
              for target in sorted(set(imported_names(name)))
              if target.startswith(("bot.storage", "sqlalchemy"))]
    assert not broken, broken


def test_nothing_below_the_app_knows_it() -> None:
    broken = [f"{name} imports {target}" for name, targets in import_graph().items()
              if layer(name) not in ("app", "cli") for target in targets if layer(target) in ("app", "cli")]
    assert not broken, broken


def test_layers_keep_off_the_libraries_of_others() -> None:
    broken = [f"{name} imports {target}" for name in MODULES if layer(name) in FORBIDDEN_LIBRARIES
              for target in sorted(set(imported_names(name)))
              if target.split(".")[0] in FORBIDDEN_LIBRARIES[layer(name) or ""]]
    assert not broken, broken


def test_only_the_composition_root_builds_the_app_parts() -> None:
    broken = []
    for name, path in MODULES.items():
        if name == "bot.app":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                called = node.func.id if isinstance(node.func, ast.Name) else \
                    node.func.attr if isinstance(node.func, ast.Attribute) else None
                if called in WIRED:
                    broken.append(f"{path.relative_to(ROOT)}:{node.lineno} builds {called}")
    assert not broken, "wire these in bot.app.build and pass them in:\n" + "\n".join(broken)


def test_tests_never_patch_our_modules() -> None:
    offenders = [str(path.relative_to(ROOT)) for path in (ROOT / "tests").rglob("*.py")
                 if "mock.patch" in path.read_text(encoding="utf-8") and path.name != "test_architecture.py"]
    assert not offenders, offenders
