"""The registry: conversations hand over by names that exist, and load on their own."""

from __future__ import annotations

import ast
import inspect
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from handlers import registry as full
from handlers.context import Registry, Step, Takes
from handlers.engine import MAIN_MENU, UNASKED_FILE

REGISTRY = full.build_registry()
HANDLERS = Path(full.__file__).parent
CONVERSATION_NAMES = [module.__name__ for module in full.CONVERSATIONS]


def _handover_targets() -> set[tuple[str, str]]:
    """Every literal name passed to ctx.go(...) in handlers/, with the file it is in."""
    found = set()
    for path in HANDLERS.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "go"
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                found.add((path.name, str(node.args[0].value)))
    return found


def test_every_handover_names_a_registered_entry() -> None:
    targets = _handover_targets()
    assert len(targets) > 10  # the walk found the calls
    missing = [(where, name) for where, name in targets if name not in REGISTRY.entries]
    assert missing == []


def test_the_engine_and_the_commands_hand_over_to_registered_entries() -> None:
    for name in [MAIN_MENU, UNASKED_FILE, *REGISTRY.commands.values()]:
        assert name in REGISTRY.entries, name
    for word, command in REGISTRY.words.items():
        assert command in ("help", "cancel", "menu") or command in REGISTRY.commands, word


def test_the_panel_buttons_name_registered_entries() -> None:
    from handlers.session import PANEL_ACTIONS

    assert set(PANEL_ACTIONS.values()) <= set(REGISTRY.entries)


def test_back_always_names_a_step_of_the_same_flow() -> None:
    for flow, steps in REGISTRY.flows.items():
        for name, step in steps.items():
            if step.back is not None:
                assert step.back in steps, f"{flow}.{name} goes back to {step.back!r}"


@pytest.mark.parametrize("module", CONVERSATION_NAMES)
def test_a_conversation_loads_without_any_other(module: str) -> None:
    others = [name for name in CONVERSATION_NAMES if name != module]
    probe = f"import sys, {module}\nprint(','.join(n for n in {others!r} if n in sys.modules))"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "", f"{module} also loads {done.stdout.strip()}"


def test_no_conversation_imports_another_inside_a_function() -> None:
    names = {name.rsplit(".", 1)[1] for name in CONVERSATION_NAMES}
    for module in full.CONVERSATIONS:
        source = inspect.getsource(module)
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.ImportFrom) and node.module == "handlers":
                imported = {alias.name for alias in node.names} & names
                assert not imported, f"{module.__name__} imports {imported}"
            if isinstance(node, ast.ImportFrom) and node.module:
                leaf = node.module.rsplit(".", 1)[-1]
                assert not (node.module.startswith("handlers.") and leaf in names), (
                    f"{module.__name__} imports {node.module}"
                )


def test_two_modules_cannot_define_the_same_step_or_entry() -> None:
    async def nothing(ctx: object) -> None:
        return None

    first, second, third = ModuleType("first"), ModuleType("second"), ModuleType("third")
    vars(first).update(FLOW="x", STEPS={"a": Step(enter=nothing, handle=nothing)})
    vars(first).update(ENTRIES={"x": nothing})
    vars(second).update(FLOW="x", STEPS={"a": Step(nothing, nothing, takes=Takes.TEXT)})
    vars(third).update(ENTRIES={"x": nothing})

    with pytest.raises(ValueError, match="steps"):
        Registry.of([first, second])
    with pytest.raises(ValueError, match="entry 'x'"):
        Registry.of([first, third])
