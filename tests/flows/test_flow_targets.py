"""Every step a flow names exists: starts, `next` targets, `turn.go(...)` targets and `go:` buttons.

A typo in a target ("adress" for "address") would only show up when a citizen reaches that step; this test
finds it statically. Targets are 'step' (in the flow being run) or 'flow:step' (see `Turn.go`).
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

import bot.flows  # registers every flow, as the app does
from bot.flows import engine
from bot.flows.engine import FLOWS, GO_HANDLERS, STAFF_COMMANDS, Choose

FLOWS_DIR = Path(bot.flows.__file__).parent


def resolves(target: str, flow_id: str | None) -> bool:
    flow, _, step = target.rpartition(":")
    flow = flow or flow_id or ""
    return flow in FLOWS and step in FLOWS[flow].steps


def returned_strings(function: object) -> list[str]:
    """The string literals a `next=` function can return (every `return "…"` and conditional branch)."""
    source = textwrap.dedent(inspect.getsource(function))  # type: ignore[arg-type]
    tree = ast.parse(source)
    found: list[str] = []

    def literals(node: ast.AST | None) -> Iterator[str]:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node.value
        elif isinstance(node, ast.IfExp):
            yield from literals(node.body)
            yield from literals(node.orelse)

    for node in ast.walk(tree):
        if isinstance(node, ast.Return):
            found.extend(literals(node.value))
        elif isinstance(node, ast.Lambda):
            found.extend(literals(node.body))
    return found


def _registered_in(path: Path, flow_id: str) -> bool:
    return f'register(Flow(id="{flow_id}"' in path.read_text(encoding="utf-8")


def go_calls(path: Path) -> Iterator[tuple[int, ast.expr]]:
    """(line, argument) of every `<x>.go(argument, …)` call in a module."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "go"
                and node.args):
            yield node.lineno, node.args[0]


def test_the_registry_is_loaded() -> None:
    assert {"menu", "lang", "access", "feedback", "mine", "desk", "followup", "complain"} <= set(FLOWS)


@pytest.mark.parametrize("flow_id", sorted(FLOWS))
def test_start_and_next_targets_exist(flow_id: str) -> None:
    flow = FLOWS[flow_id]
    assert flow.start in flow.steps, (flow_id, flow.start)
    for name, step in flow.steps.items():
        assert step.id == name, (flow_id, name, step.id)
        target = getattr(step, "next", "")
        targets = returned_strings(target) if callable(target) else [target] if target else []
        assert not callable(target) or targets, f"{flow_id}:{name}: no literal target found in its next function"
        for each in targets:
            assert resolves(each, flow_id), f"{flow_id}:{name} goes to {each!r}, which is not a step"


@pytest.mark.parametrize("path", sorted(FLOWS_DIR.glob("*.py")), ids=lambda path: path.name)
def test_every_literal_go_target_exists(path: Path) -> None:
    flows = [flow_id for flow_id in FLOWS if _registered_in(path, flow_id)]
    for line, argument in go_calls(path):
        if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
            target = argument.value
            if ":" in target:
                assert resolves(target, None), f"{path.name}:{line}: {target!r}"
            else:
                # A relative target moves within the running flow: one of the flows this module registers.
                assert flows, f"{path.name}:{line}: relative {target!r} in a module that registers no flow"
                assert any(resolves(target, flow_id) for flow_id in flows), f"{path.name}:{line}: {target!r}"


def test_computed_targets_exist() -> None:
    # menu.py: `turn.go(f"{option.id}:{FLOWS[option.id].start}")` for the menu's flow options.
    from bot.flows.engine import FLOW_COMMANDS
    from bot.flows.menu import DESK_OPTION, MENU_OPTIONS

    for option in (DESK_OPTION, *MENU_OPTIONS):  # "help" is said there; "mydata" runs the command's flow
        assert option.id in FLOWS or option.id == "help" or option.id in FLOW_COMMANDS, option.id
    # engine.run_global: the staff commands open `desk:<command>` ('inbox' opens the list).
    for command in STAFF_COMMANDS:
        assert resolves(f"desk:{'list' if command == 'inbox' else command}", None), command
    for target in ("menu:main", "lang:choose"):
        assert resolves(target, None)
    # confirm.edit_handler: `turn.go(option.id)` for each option of an 'edit' step, back to '<flow>:confirm'.
    for flow_id, flow in FLOWS.items():
        edit = flow.steps.get("edit")
        if isinstance(edit, Choose) and not callable(edit.options):
            assert "confirm" in flow.steps, flow_id
            for option in edit.options:
                assert resolves(option.id, flow_id), f"{flow_id}:edit offers {option.id!r}, not a step"


def test_every_go_button_has_a_handler() -> None:
    """'go:<name>:…' option ids written in the flows and notices are handled by an @on_go handler."""
    for path in sorted(FLOWS_DIR.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.startswith("go:"):
                name = node.value.split(":")[1]
                if name:
                    assert name in GO_HANDLERS, f"{path.name}:{node.lineno}: {node.value!r}"
    assert engine.run_go  # the dispatcher of those buttons
