"""What a statement list (a module's top level, a class body) binds to literals, read with
``ast``; nothing runs.

One rule for every declaration pike reads from source (docs/design.md, "Rules and
where they are stated"): a module's ``__requires__``, ``__version__`` and
``__plugin__``, and a class body's attributes. A name is a *literal* when every
binding of it in the list is a plain assignment (``x = v``, ``x: T = v``,
``a = b = v``) of a value ``ast.literal_eval`` accepts, whose source text is at
most `MAX_TEXT` bytes; the last one gives the value. A name is a *function* (a
class's method) when every binding of it is a ``def``. Anything else that binds,
deletes or changes the name (a call, a name, an augmented or item assignment,
unpacking, a walrus, a call of one of its methods, ``import``, ``class``, an
``except ... as``, a binding inside ``if``, ``try``, ``for``, ``while``, ``with``
or ``match``) makes it *dynamic*. Function, class and comprehension bodies are not
looked into: what they bind is theirs (what runs where they stand is: decorators,
defaults, bases, a comprehension's first iterable). A name declared
``global`` or ``nonlocal`` is bound elsewhere, and is neither.

The caller imports ``ast`` (only to parse) and hands it down.
"""

from __future__ import annotations

from collections.abc import Container, Iterable
from itertools import chain, compress
from typing import Any

__all__ = [
    "DYNAMIC",
    "FUNCTION",
    "LITERAL",
    "MAX_TEXT",
    "Bindings",
    "all_literal",
    "bindings",
    "is_literal",
]

LITERAL, DYNAMIC, FUNCTION = 1, 2, 3

#: The longest literal, as source text, that is read (64 KiB); a longer one is dynamic.
MAX_TEXT = 64 * 1024

#: Types a literal (and everything inside one) may have.
_SCALARS = frozenset({str, bytes, int, float, complex, bool, type(None), type(Ellipsis)})
_CONTAINERS = frozenset({tuple, list, set, frozenset, dict})
_KINDS = _SCALARS | _CONTAINERS
_DEPTH = 100


def all_literal(values: Iterable[object]) -> bool:
    """True if each of ``values`` is what ``ast.literal_eval`` could return (checked for
    what is read back from a cache file), nested at most 100 deep. Checked a level at a
    time for all of them at once: a folder's worth of attributes costs little more than
    one."""
    level = list(values)
    for _ in range(_DEPTH):
        kinds = set(map(type, level))
        if kinds <= _SCALARS:
            return True
        if not kinds <= _KINDS:
            return False
        inner: list[Any] = list(compress(level, map(_CONTAINERS.__contains__, map(type, level))))
        level = list(chain.from_iterable(inner))  # items, and a dict's keys
        if dict in kinds:
            level += chain.from_iterable(v.values() for v in inner if type(v) is dict)
    return False


def is_literal(value: object) -> bool:
    """True if ``value`` is what ``ast.literal_eval`` could return (see `all_literal`)."""
    return all_literal((value,))


class Bindings:
    """What a statement list binds: for each name, ``(kind, value, line)`` (the value
    only for a literal; the line of the last binding), and the literals too long to
    read, ``(name, line)``."""

    __slots__ = ("names", "too_long")

    def __init__(self) -> None:
        self.names: dict[str, tuple[int, Any, int]] = {}
        self.too_long: list[tuple[str, int]] = []

    def bind(self, name: str, kind: int, value: Any, line: int) -> None:
        held = self.names.get(name)
        if held is not None and not (held[0] == kind and kind in (LITERAL, FUNCTION)):
            kind, value = DYNAMIC, None  # bound twice, not both times alike
        self.names[name] = (kind, value, line)


def bindings(
    ast: Any,
    body: list[Any],
    source: bytes,
    wanted: Container[str] | None = None,
    *,
    class_body: bool = False,
) -> Bindings:
    """What the statements ``body`` (parsed from ``source``; a module's, or with
    ``class_body`` a class's) bind, of the names in ``wanted`` (every name if None). May
    raise ``RecursionError`` or ``MemoryError`` for an expression nested too deep: the
    caller says what that means."""
    found = Bindings()
    lines: list[int] | None = None  # where each line of the source starts, if needed
    for node in body:
        targets = _plain_targets(ast, node)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            if wanted is None or node.name in wanted:
                found.bind(node.name, FUNCTION, None, node.lineno)
            around = _evaluated_around(node)
            if around:
                for name, line in _touched(ast, around, wanted, node.lineno).items():
                    found.bind(name, DYNAMIC, None, line)
            continue
        if isinstance(node, ast.AnnAssign) and node.value is None and node.simple:
            continue  # a bare annotation (``x: int``) binds nothing
        if targets is None:
            for name, line in _touched(ast, [node], wanted, node.lineno).items():
                found.bind(name, DYNAMIC, None, line)
            continue
        kind = DYNAMIC
        names = [name for name in targets if wanted is None or name in wanted]
        if names:
            value_node = node.value
            if value_node.lineno == value_node.end_lineno:
                size = value_node.end_col_offset - value_node.col_offset
            else:
                if lines is None:
                    lines = _line_starts(source)
                size = _offset(lines, value_node.end_lineno, value_node.end_col_offset)
                size -= _offset(lines, value_node.lineno, value_node.col_offset)
            if size > MAX_TEXT:
                if _literal_shaped(ast, value_node):
                    found.too_long.extend((name, node.lineno) for name in names)
                value = None
            else:
                kind, value = _literal(ast, value_node)
            for name in names:
                found.bind(name, kind, value, node.lineno)
        if kind != LITERAL:  # a value that is no literal may bind names of its own (a walrus)
            for name, line in _touched(ast, [node.value], wanted, node.lineno).items():
                found.bind(name, DYNAMIC, None, line)
    if class_body and (b"global" in source or b"nonlocal" in source):
        for name in _declared_global(ast, body):  # bound in the module, not in this body
            found.names.pop(name, None)
    return found


def _evaluated_around(node: Any) -> list[Any]:
    """What of a ``def``, ``lambda`` or ``class`` runs where it stands, not in its own
    scope: decorators and defaults; a class's bases and keywords. (Annotations are left
    out: often never evaluated, and no place for a binding.)"""
    arguments = getattr(node, "args", None)
    if arguments is None:  # a class
        return [*node.decorator_list, *node.bases, *node.keywords]
    found = [*getattr(node, "decorator_list", ()), *arguments.defaults]
    if arguments.kw_defaults:
        found += [default for default in arguments.kw_defaults if default is not None]
    return found


def _declared_global(ast: Any, body: list[Any]) -> set[str]:
    """The names a ``global`` or ``nonlocal`` statement of ``body``'s own scope declares
    (at any depth of its blocks, not inside a function or class of it)."""
    names: set[str] = set()
    blocks = (ast.stmt, ast.excepthandler, ast.match_case)
    scopes = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    pending = list(body)
    while pending:
        item = pending.pop()
        if isinstance(item, (ast.Global, ast.Nonlocal)):
            names.update(item.names)
        elif not isinstance(item, scopes):
            pending.extend(c for c in ast.iter_child_nodes(item) if isinstance(c, blocks))
    return names


#: What a literal is made of, as ``ast.literal_eval`` reads it (`_literal_shaped`).
_LITERAL_NODES = ("Constant", "Tuple", "List", "Set", "Dict", "UnaryOp", "BinOp", "Load")


def _literal_shaped(ast: Any, node: Any) -> bool:
    """Whether ``node`` is made only of what a literal is made of (the value of a name
    too long to read is then a literal too long, else a plain dynamic value)."""
    kinds = tuple(getattr(ast, kind) for kind in _LITERAL_NODES)
    operators = (ast.UAdd, ast.USub, ast.Add, ast.Sub)
    pending = [node]
    while pending:
        item = pending.pop()
        if isinstance(item, operators):
            continue
        if isinstance(item, ast.Call):  # set(), the empty set
            if not (isinstance(item.func, ast.Name) and item.func.id == "set"):
                return False
            if item.args or item.keywords:
                return False
            continue
        if not isinstance(item, kinds):
            return False
        pending.extend(ast.iter_child_nodes(item))
    return True


def _line_starts(source: bytes) -> list[int]:
    starts = [0]
    for line in source.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))
    return starts


def _offset(starts: list[int], line: int, column: int) -> int:
    return (starts[line - 1] if line - 1 < len(starts) else starts[-1]) + column


def _literal(ast: Any, node: object) -> tuple[int, Any]:
    try:
        return LITERAL, ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return DYNAMIC, None


def _plain_targets(ast: Any, node: object) -> list[str] | None:
    """The names ``node`` binds if it is a plain assignment of one value to names only
    (``x = ...``, ``x: T = ...``, ``a = b = ...``); else None."""
    if isinstance(node, ast.Assign):
        targets = node.targets
    elif isinstance(node, ast.AnnAssign) and node.value is not None:
        if not node.simple:  # ``(x): T = v`` binds x too, but reads as an expression
            return None
        targets = [node.target]
    else:
        return None
    if not all(isinstance(target, ast.Name) for target in targets):
        return None
    return [target.id for target in targets]


def _touched(
    ast: Any, nodes: list[Any], wanted: Container[str] | None, line: int
) -> dict[str, int]:
    """The names (of ``wanted``) that ``nodes`` bind, delete or change, each with the last
    line doing it."""
    touched: dict[str, int] = {}

    def touch(name: str, where: Any) -> None:
        if wanted is None or name in wanted:
            touched[name] = max(touched.get(name, 0), getattr(where, "lineno", line))

    pending = list(nodes)
    while pending:
        item = pending.pop()
        if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            touch(item.name, item)
            pending.extend(_evaluated_around(item))
            continue
        if isinstance(item, ast.Lambda):
            pending.extend(_evaluated_around(item))
            continue
        if isinstance(item, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            # Its own scope: what it binds is its own; only its first iterable runs here.
            pending.append(item.generators[0].iter)
            continue
        if isinstance(item, ast.ExceptHandler) and item.name:
            touch(item.name, item)  # bound, then deleted as the handler ends
        if isinstance(item, (ast.Import, ast.ImportFrom)):
            for alias in item.names:
                touch((alias.asname or alias.name).partition(".")[0], item)
        elif isinstance(item, ast.Name) and not isinstance(item.ctx, ast.Load):
            touch(item.id, item)
        elif isinstance(item, (ast.Subscript, ast.Attribute)):
            if not isinstance(item.ctx, ast.Load) and isinstance(item.value, ast.Name):
                touch(item.value.id, item)  # x["key"] = ..., del x.attr
        elif isinstance(item, ast.Call):
            method = item.func
            if isinstance(method, ast.Attribute) and isinstance(method.value, ast.Name):
                touch(method.value.id, item)  # x.update(...), x.append(...)
        elif isinstance(item, (ast.MatchAs, ast.MatchStar, ast.MatchMapping)):
            name = item.rest if isinstance(item, ast.MatchMapping) else item.name
            if name:
                touch(name, item)  # a match statement's capture
        pending.extend(ast.iter_child_nodes(item))
    return touched
