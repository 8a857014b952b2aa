"""Contracts: what a host calls on a plugin class, and whether a class can take it.

A contract is a `typing.Protocol` (runtime-checkable or not) or an abstract base
class. Its members are the Protocol's methods and annotated attributes (its
Protocol bases' too), or the ABC's abstract methods and properties. A class
conforms when it has every member (found where Python finds it, the first in
its MRO, and not a declaration in that Protocol or ABC), and each method can
be called as declared there: its required positional parameters
passed positionally, its required keyword-only ones by name, nothing more
required, and ``async`` exactly when declared so. Parameter names of
positional parameters are not compared (docs/picking.md, "Contracts").

Plugin classes are read past their hooks: the MRO and class dicts through the
built-in descriptors; a plain function's parameters from its code object.
Anything else callable is asked through `inspect.signature`, guarded by the
caller.
"""

from __future__ import annotations

import abc
import functools
import sys
import typing
from collections.abc import Callable
from itertools import compress, repeat
from operator import and_, attrgetter, contains, getitem, is_, itemgetter, length_hint, methodcaller
from types import FunctionType
from typing import Any

from pike._objects import a_type_name, describe, location_of, type_module, type_name
from pike.errors import PikeTypeError, PluginContractError, PluginError, PluginObjectError

__all__ = ["Contract", "class_line", "conforming", "contract_error", "contract_of", "plugin_error"]

_MRO = type.__dict__["__mro__"].__get__
_DICT = type.__dict__["__dict__"].__get__
_QUALNAME = type.__dict__["__qualname__"].__get__

# What typing and abc put in a Protocol's or an ABC's namespace: never members.
_INTERNAL = frozenset(
    {
        "__abstractmethods__",
        "__annotate__",
        "__annotations__",
        "__class_getitem__",
        "__dict__",
        "__doc__",
        "__firstlineno__",
        "__init__",
        "__init_subclass__",
        "__match_args__",
        "__module__",
        "__new__",
        "__callable_proto_members_only__",
        "__non_callable_proto_members__",
        "__orig_bases__",
        "__orig_class__",
        "__parameters__",
        "__protocol_attrs__",
        "__qualname__",
        "__slots__",
        "__static_attributes__",
        "__subclasshook__",
        "__type_params__",
        "__weakref__",
        "_is_protocol",
        "_is_runtime_protocol",
    }
)
# Code flags (`inspect.CO_VARARGS`...): a plain function is read without `inspect`.
_VARARGS = 0x04
_VARKEYWORDS = 0x08
_COROUTINE = 0x80
# What decides whether a plain function can take a call (with its defaults' count and
# whether it is a wrapper): read in bulk. Which parameters take no keyword, and their
# names, only where a contract passes a keyword (co_varnames is made anew at each read).
_CODE_SHAPE = attrgetter("co_argcount", "co_kwonlyargcount", "co_flags")
_CODE_SHAPE_NAMED = attrgetter(
    "co_argcount", "co_kwonlyargcount", "co_flags", "co_posonlyargcount", "co_varnames"
)
_CODE = attrgetter("__code__")
_DEFAULTS = attrgetter("__defaults__")
_CLASS_DICT = attrgetter("__dict__")  # for classes whose metaclass is type itself
_FIRST = itemgetter(0)


class _Call:
    """How a callable takes its arguments (the instance already bound, for a method)."""

    __slots__ = (
        "is_async",
        "keyword_only",
        "on_class",
        "positional",
        "positional_only",
        "required",
        "required_keywords",
        "var_keyword",
        "var_positional",
    )

    def __init__(
        self,
        *,
        positional: tuple[str, ...],  # the names of its positional parameters, in order
        positional_only: int,  # how many of them take no keyword
        required: int,  # how many of them have no default
        var_positional: bool,
        keyword_only: tuple[str, ...],
        required_keywords: frozenset[str],
        var_keyword: bool,
        is_async: bool,
        on_class: bool = False,  # callable on the class itself (a class or static method)
    ) -> None:
        self.positional = positional
        self.positional_only = positional_only
        self.required = required
        self.var_positional = var_positional
        self.keyword_only = keyword_only
        self.required_keywords = required_keywords
        self.var_keyword = var_keyword
        self.is_async = is_async
        self.on_class = on_class

    def called_on_class(self) -> _Call:
        self.on_class = True
        return self


class Contract:
    """A contract class and its members: ``name -> _Call`` for a method, None for an
    attribute (a property, an annotated name, any other value)."""

    __slots__ = ("cls", "members", "name", "owners", "shapes")

    def __init__(self, cls: type, members: dict[str, _Call | None]) -> None:
        self.cls = cls
        self.members = members
        self.name = f"{type_module(cls) or '?'}.{type_name(cls)}"
        #: This contract's class and its bases (its MRO but ``object``): a member found there
        #: is the declaration, not an implementation.
        self.owners = frozenset(id(owner) for owner in _MRO(cls)[:-1])
        #: member -> (a plain function's code shape, its defaults' count, whether it is
        #: a wrapper) -> whether a function of that shape surely conforms.
        self.shapes: dict[str, dict[tuple[Any, ...], bool]] = {}

    def claimed_by(self, cls: type) -> bool:
        """Whether ``cls`` subclasses this contract (by its MRO: no hook of it runs)."""
        return any(owner is self.cls for owner in _MRO(cls))

    def mismatches(self, cls: type) -> list[str]:
        """What keeps ``cls`` from conforming, one line per member; empty if it does.

        May raise what a callable's ``__signature__`` raises: the caller guards it.
        """
        mro = _MRO(cls)
        spaces = list(map(_DICT, mro))
        still = _still_abstract(_DICT(cls).get("__abstractmethods__"))
        problems: list[str] = []
        for name, wanted in self.members.items():
            raw = owner = None
            for klass, namespace in zip(mro, spaces, strict=True):  # where Python finds it
                raw = namespace.get(name, _NO_VALUE)
                if raw is not _NO_VALUE:
                    owner = klass
                    break
            if owner is None or id(owner) in self.owners or name in still:
                if wanted is None and _annotated(mro, name, self.owners):
                    continue  # an instance attribute the class declares
                problems.append(f"{name}: missing")
                continue
            if wanted is None:
                continue
            problems.extend(_judge(name, wanted, raw))
        return problems

    def surely_conforming(self, classes: list[type]) -> list[bool]:
        """Whether each of ``classes`` conforms, found in bulk for the common case: each
        member in the class's own namespace, each method a plain function (not a
        decorator's wrapper), judged once per shape of parameters. False means "not
        sure": ask `mismatches` ("conforms 1000" benchmark row: one class at a time
        costs more than the imports' 5%)."""
        if self.owners.intersection(map(id, classes)):
            return [False] * len(classes)
        # Each class first in its own MRO (a metaclass's mro() may say otherwise).
        first = list(map(is_, map(_FIRST, map(_MRO, classes)), classes))
        sure: list[bool] | None = None if all(first) else first  # None: every class so far
        if all(map(is_, map(type, classes), repeat(type))):  # no metaclass: type's own
            spaces = list(map(_CLASS_DICT, classes))  # __dict__ served, abstract nothing
        else:
            spaces = list(map(_DICT, classes))
            abstract = map(methodcaller("get", "__abstractmethods__"), spaces)
            concrete = [not _still_abstract(value) for value in abstract]
            if not all(concrete):  # an abstract method left: one class at a time
                sure = _both(sure, concrete)
        for name, wanted in self.members.items():
            if wanted is None:  # an attribute: any value will do
                held = list(map(contains, spaces, repeat(name)))
                if not all(held):
                    sure = _both(sure, held)
                continue
            if all(map(contains, spaces, repeat(name))):
                values = list(map(getitem, spaces, repeat(name)))
            else:
                values = list(map(methodcaller("get", name, _NO_VALUE), spaces))
            plain = list(map(is_, map(type, values), repeat(FunctionType)))
            functions = values if all(plain) else list(compress(values, plain))
            shape_of = _CODE_SHAPE_NAMED if wanted.required_keywords else _CODE_SHAPE
            if _any_wrapper(functions):  # judged by the signature it reports: unsure
                wrapped = list(map(_is_wrapper, functions))
            else:
                wrapped = list(repeat(False, len(functions)))
            shapes = list(
                zip(
                    map(shape_of, map(_CODE, functions)),
                    map(length_hint, map(_DEFAULTS, functions)),
                    wrapped,
                    strict=True,
                )
            )
            known = self.shapes.setdefault(name, {})
            for shape in set(shapes).difference(known):  # each shape judged once
                function = functions[shapes.index(shape)]
                simple = not shape[2] and not shape[0][1]  # no wrapper, no keyword-only
                known[shape] = simple and not _judge(name, wanted, function)
            judged = list(map(known.__getitem__, shapes))
            if functions is not values:
                verdicts = iter(judged)
                judged = [is_plain and next(verdicts) for is_plain in plain]
            if not all(judged):
                sure = _both(sure, judged)
        return [True] * len(classes) if sure is None else sure


def _still_abstract(value: object) -> frozenset[str]:
    """The names a class's ``__abstractmethods__`` (set by `abc.ABCMeta`) holds: what it
    leaves abstract, re-declared or inherited, implements nothing."""
    if type(value) is frozenset and all(type(name) is str for name in value):
        return value
    return frozenset()


def _both(sure: list[bool] | None, more: list[bool]) -> list[bool]:
    return more if sure is None else list(map(and_, sure, more))


def _any_wrapper(functions: list[FunctionType]) -> bool:
    """Whether one of the plain ``functions`` is a decorator's wrapper (``__wrapped__``
    or ``__signature__`` set on it); looked up without making their ``__dict__``."""
    return any(map(hasattr, functions, repeat("__wrapped__"))) or any(
        map(hasattr, functions, repeat("__signature__"))
    )


def _is_wrapper(function: FunctionType) -> bool:
    return hasattr(function, "__wrapped__") or hasattr(function, "__signature__")


def _judge(name: str, wanted: _Call, raw: object) -> tuple[str, ...]:
    """Why the attribute ``raw`` cannot be called as a contract's method ``name`` is."""
    call = _call_of(raw)
    if call is None:
        return (f"{name}: is {a_type_name(raw)}, not a method",)
    if wanted.on_class and not call.on_class:
        return (f"{name}: is an instance method, but declared to be called on the class",)
    return tuple(f"{name}: {problem}" for problem in _differences(wanted, call))


def contract_of(value: object, argument: str = "conforms") -> Contract:
    """``conforms=`` (or the ``argument`` named so) as a `Contract`; a `PikeTypeError`
    naming the argument if it is none."""
    if isinstance(value, type) and _DICT(value).get("_is_protocol") is True:
        return Contract(value, _protocol_members(value))
    if isinstance(value, abc.ABCMeta):
        return Contract(value, _abstract_members(value))
    given = repr(value) if isinstance(value, type) else a_type_name(value)
    raise PikeTypeError(
        f"{argument} is {given}; pass a typing.Protocol or an abstract base "
        "class (abc.ABC) the plugin classes must implement, or None"
    )


def contract_error(
    cls: type, contract: Contract, problems: list[str], module: str, path: str
) -> PluginContractError:
    """The error of a plugin class that claims ``contract`` but does not conform."""
    qualname = type_name(cls)
    line = class_line(cls, path)
    where = f"{path}, line {line}" if line else path
    return PluginContractError(
        f"plugin class {module}.{qualname} ({where}) does not conform to {contract.name}: "
        + "; ".join(problems),
        module,
        path,
        line,
        qualname=qualname,
        contract=contract.name,
        mismatches=tuple(problems),
    )


def class_line(cls: type, path: str) -> int | None:
    """The line of ``cls``'s ``class`` statement in ``path`` (its source, parsed now: this
    is for error messages), else what Python noted of it, else None. A statement inside
    an ``if`` or ``try`` counts; of a name defined twice, the one Python noted (3.13),
    else the last."""
    import ast

    qualname = _QUALNAME(cls)
    parts = qualname.split(".") if isinstance(qualname, str) else [type_name(cls)]
    first = _DICT(cls).get("__firstlineno__")  # Python 3.13: the first decorator's line
    try:
        with open(path, "rb") as file:
            tree = ast.parse(file.read())
    except (OSError, ValueError, SyntaxError, MemoryError, RecursionError):
        tree = None
    body = tree.body if tree is not None else []
    found: ast.ClassDef | None = None
    for part in parts:
        found = None
        for node in _class_statements(ast, body, part):
            found = node
            starts = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            if starts == first and part == parts[-1]:
                break
        if found is None:
            break
        body = found.body
    if found is not None:
        return found.lineno
    return first if type(first) is int else None


def _class_statements(ast: Any, body: list[Any], name: str) -> list[Any]:
    """The ``class name`` statements of ``body``'s own scope, in order, at any depth of
    its blocks (``if``, ``try``, ``with``...), not inside a function or class."""
    found = []
    pending = list(reversed(body))
    blocks = (ast.stmt, ast.excepthandler, ast.match_case)
    while pending:
        node = pending.pop()
        if isinstance(node, ast.ClassDef):
            if node.name == name:
                found.append(node)
        elif not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            inner = [c for c in ast.iter_child_nodes(node) if isinstance(c, blocks)]
            pending.extend(reversed(inner))
    return found


# -- members ---------------------------------------------------------------------------


def _protocol_members(protocol: type) -> dict[str, _Call | None]:
    members: dict[str, _Call | None] = {}
    for base in reversed(_MRO(protocol)[:-1]):  # the nearest declaration wins
        if base is typing.Protocol or base is typing.Generic:
            continue
        namespace = _DICT(base)
        annotations = namespace.get("__annotations__") or {}
        for name in (*namespace, *annotations):
            if name in _INTERNAL or name.startswith("_abc_"):
                continue
            value = namespace.get(name, _NO_VALUE)
            members[name] = _call_of(value) if value is not _NO_VALUE else None
    named = _DICT(protocol).get("__protocol_attrs__")  # typing's own list (3.12 on)
    if type(named) in (set, frozenset) and all(type(name) is str for name in named):
        members = {name: members.get(name) for name in named}
    return dict(sorted(members.items()))  # by name, as an ABC's: mismatches in that order


def _abstract_members(contract: type) -> dict[str, _Call | None]:
    members: dict[str, _Call | None] = {}
    mro = _MRO(contract)
    for name in sorted(_DICT(contract).get("__abstractmethods__") or ()):
        raw, owner = _lookup(mro, name)
        members[name] = _call_of(raw) if owner is not None else None
    return members


_NO_VALUE = object()


def _lookup(mro: tuple[type, ...], name: str) -> tuple[Any, type | None]:
    """What the class's attribute ``name`` is, where Python finds it, and its owner."""
    for klass in mro:
        namespace = _DICT(klass)
        if name in namespace:
            return namespace[name], klass
    return None, None


def _annotated(mro: tuple[type, ...], name: str, skip: frozenset[int]) -> bool:
    """Whether a class of ``mro`` (not one of ``skip``, a contract's) annotates
    ``name``."""
    for klass in mro:
        if id(klass) in skip:
            continue
        annotations = _DICT(klass).get("__annotations__")
        if isinstance(annotations, dict) and name in annotations:
            return True
    return False


# -- calls -----------------------------------------------------------------------------


def _call_of(raw: object) -> _Call | None:
    """How the attribute ``raw`` of a class is called on an instance; None if it is no
    method (a property, a value)."""
    kind = type(raw)
    if kind is FunctionType:
        return _bound(_call_of_function(raw))  # type: ignore[arg-type]
    if kind is staticmethod:
        return _call_of_callable(raw.__func__).called_on_class()  # type: ignore[attr-defined]
    if kind is classmethod:
        return _bound(_call_of_callable(raw.__func__)).called_on_class()  # type: ignore[attr-defined]
    if kind is functools.singledispatchmethod:  # called as its first implementation is
        return _call_of(raw.func)  # type: ignore[attr-defined]
    if kind is functools.partialmethod:  # what is left of its function to pass
        func = raw.func  # type: ignore[attr-defined]
        if type(func) is not FunctionType:
            return None
        bound = functools.partial(func, None, *raw.args, **raw.keywords)  # type: ignore[attr-defined]
        return _call_of_signature(bound)
    if issubclass(kind, property) or not callable(raw):  # (type(raw): no __class__ asked)
        return None
    # A callable object: called without the instance, on the class as on an instance.
    return _call_of_callable(raw).called_on_class()


def _call_of_callable(func: object) -> _Call:
    if type(func) is FunctionType:
        return _call_of_function(func)
    return _call_of_signature(func)


def _call_of_function(func: FunctionType) -> _Call:
    """A plain function's parameters, from its code object (fast: no `inspect`)."""
    if "__wrapped__" in func.__dict__ or "__signature__" in func.__dict__:
        return _call_of_signature(func)  # a decorator's wrapper: the signature it reports
    code = func.__code__
    count = code.co_argcount
    names = code.co_varnames
    keyword_only = names[count : count + code.co_kwonlyargcount]
    defaults = func.__defaults__ or ()
    keyword_defaults = func.__kwdefaults__ or {}
    return _Call(
        positional=names[:count],
        positional_only=code.co_posonlyargcount,
        required=count - len(defaults),
        var_positional=bool(code.co_flags & _VARARGS),
        keyword_only=keyword_only,
        required_keywords=frozenset(n for n in keyword_only if n not in keyword_defaults),
        var_keyword=bool(code.co_flags & _VARKEYWORDS),
        is_async=bool(code.co_flags & _COROUTINE),
    )


def _call_of_signature(func: object) -> _Call:
    import inspect  # for callables that are not plain functions: rare

    signature = inspect.signature(func)  # type: ignore[arg-type]
    positional = []
    positional_only = required = 0
    keyword_only = []
    required_keywords = set()
    var_positional = var_keyword = False
    for parameter in signature.parameters.values():
        kind = parameter.kind
        empty = parameter.default is inspect.Parameter.empty
        if kind in (parameter.POSITIONAL_ONLY, parameter.POSITIONAL_OR_KEYWORD):
            positional.append(parameter.name)
            positional_only += kind is parameter.POSITIONAL_ONLY
            required += empty
        elif kind is parameter.VAR_POSITIONAL:
            var_positional = True
        elif kind is parameter.KEYWORD_ONLY:
            keyword_only.append(parameter.name)
            if empty:
                required_keywords.add(parameter.name)
        else:
            var_keyword = True
    return _Call(
        positional=tuple(positional),
        positional_only=positional_only,
        required=required,
        var_positional=var_positional,
        keyword_only=tuple(keyword_only),
        required_keywords=frozenset(required_keywords),
        var_keyword=var_keyword,
        is_async=inspect.iscoroutinefunction(func)
        or inspect.iscoroutinefunction(inspect.unwrap(func)),  # type: ignore[arg-type]
    )


def _bound(call: _Call) -> _Call:
    """``call`` with its first positional parameter taken by the instance (or class)."""
    if not call.positional:
        if call.var_positional:
            return call  # *args takes the instance
        # Nothing can take the instance: no call of it works.
        return _Call(
            positional=(),
            positional_only=0,
            required=-1,
            var_positional=False,
            keyword_only=(),
            required_keywords=frozenset(),
            var_keyword=False,
            is_async=call.is_async,
        )
    return _Call(
        positional=call.positional[1:],
        positional_only=max(call.positional_only - 1, 0),
        required=max(call.required - 1, 0),
        var_positional=call.var_positional,
        keyword_only=call.keyword_only,
        required_keywords=call.required_keywords,
        var_keyword=call.var_keyword,
        is_async=call.is_async,
    )


def _differences(contract: _Call, plugin: _Call) -> list[str]:
    """Why a call made as ``contract`` declares would fail on ``plugin`` (empty: it
    works)."""
    if plugin.required < 0:
        return ["takes no parameter for the instance it is called on"]
    problems = []
    passed = contract.required
    if not plugin.var_positional and len(plugin.positional) < passed:
        problems.append(
            f"takes {len(plugin.positional)} positional argument"
            f"{'' if len(plugin.positional) == 1 else 's'}; the host passes {passed}"
        )
    by_name = contract.required_keywords
    for index in range(passed, plugin.required):
        name = plugin.positional[index]
        if index < plugin.positional_only or name not in by_name:
            problems.append(f"requires {name!r}, which the host does not pass")
    for name in sorted(by_name):
        if name in plugin.keyword_only:
            continue
        if name in plugin.positional:
            index = plugin.positional.index(name)
            if index >= plugin.positional_only:
                if index < passed:
                    problems.append(f"would get {name!r} both by position and by name")
                continue
        if not plugin.var_keyword:
            problems.append(f"takes no keyword argument {name!r}, which the host passes")
    for name in sorted(plugin.required_keywords - by_name):
        problems.append(f"requires keyword-only {name!r}, which the host does not pass")
    if plugin.is_async != contract.is_async:
        problems.append(
            "is async, but declared not async"
            if plugin.is_async
            else "is not async, but declared async"
        )
    return problems


def conforming(
    classes: list[type],
    contract: Contract,
    asked: bool,
    report: Callable[[PluginError], None],
    where: Callable[[type], tuple[str, str]],
) -> list[type]:
    """The ``classes`` that conform to ``contract``. One that does not is a
    `PluginContractError` given to ``report`` (which may raise) when it claims to be a
    plugin: it subclasses ``contract``, or ``asked`` (the caller asked for it by base);
    else it is left out unsaid. One whose check raises is a `PluginObjectError`. The
    contract's own classes (a host may keep its contract among its plugins) declare
    the members rather than implement them: left out unsaid."""
    surely = contract.surely_conforming(classes)
    if all(surely):
        return list(classes)
    kept = []
    for cls, sure in zip(classes, surely, strict=True):
        if sure:
            kept.append(cls)
            continue
        if id(cls) in contract.owners:
            continue
        try:
            problems = contract.mismatches(cls)
        except Exception as exc:
            module, path = where(cls)
            error: PluginError = PluginObjectError(
                f"plugin class {module}.{type_name(cls)} ({path}) raised {describe(exc)} "
                f"when pike asked whether it conforms to {contract.name}; it is left out",
                module,
                path,
                qualname=type_name(cls),
            )
            error.__cause__ = exc
            report(error)
            continue
        if not problems:
            kept.append(cls)
        elif asked or contract.claimed_by(cls):
            module, path = where(cls)
            report(contract_error(cls, contract, problems, module, path))
    return kept


def plugin_error(plugin: object, contract: Contract, module: str, path: str) -> PluginError | None:
    """What keeps the object a named plugin's entry point loaded from conforming (it
    must be a class), as an error; None if it conforms."""
    if not isinstance(plugin, type):
        return PluginContractError(
            f"plugin {module} ({path or '?'}) is {a_type_name(plugin)}, not a class; it "
            f"cannot conform to {contract.name}",
            module,
            path,
            contract=contract.name,
            mismatches=("not a class",),
        )
    if not path:  # an installed plugin: its module's file
        path = location_of(sys.modules.get(type_module(plugin) or ""))
    errors: list[PluginError] = []
    conforming([plugin], contract, True, errors.append, lambda cls: (module, path))
    return errors[0] if errors else None
