"""Contracts at load: ``conforms=`` (a Protocol or an abstract base class) on the
manager's class picking and the named managers, and ``contract=`` of static listing
(docs/picking.md, "Contracts"). Real plugin folders, the real import system."""

from __future__ import annotations

import logging
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from pike.discovery import static
from pike.errors import (
    EntryPointError,
    PikeTypeError,
    PluginContractError,
    PluginError,
    PluginObjectError,
)
from pike.manager import PikeManager
from tests.conftest import MakeTree

HOST = '''
import abc
from typing import Protocol, runtime_checkable


class Closing(Protocol):
    async def close(self) -> None: ...


class Reader(Closing, Protocol):
    """What the host calls on a reader."""

    name: str

    def read(self, path, /, *, encoding): ...

    def size(self) -> int: ...


@runtime_checkable
class Named(Protocol):
    label: str

    @property
    def title(self) -> str: ...


class Runner(abc.ABC):
    @abc.abstractmethod
    def run(self, job, retries=3): ...

    @classmethod
    @abc.abstractmethod
    def make(cls, config): ...

    @staticmethod
    @abc.abstractmethod
    def check(value): ...

    @property
    @abc.abstractmethod
    def kind(self): ...

    def helper(self):  # not abstract: not a member
        return 1


class Task:
    """A host base class that is no contract."""
'''


@pytest.fixture
def host(tmp_path: Path) -> Iterator[ModuleType]:
    """The host's module of contracts, importable by the plugins."""
    folder = tmp_path / "host"
    folder.mkdir()
    (folder / "contract_host.py").write_text(textwrap.dedent(HOST))
    sys.path.insert(0, str(folder))
    import contract_host  # type: ignore[import-not-found]

    yield contract_host
    sys.path.remove(str(folder))
    sys.modules.pop("contract_host", None)
    sys.path_importer_cache.pop(str(folder), None)


GOOD_READER = """
class GoodReader:
    name = "good"

    def read(self, path, *, encoding="utf-8", errors=None):
        return path

    def size(self):
        return 0

    async def close(self):
        pass
"""


def plugins(make_tree: MakeTree, **modules: str) -> Path:
    imports = "from contract_host import Closing, Named, Reader, Runner, Task\n"
    return make_tree(
        {f"{name}.py": imports + textwrap.dedent(source) for name, source in modules.items()}
    )


def line_of(path: Path, text: str) -> int:
    return path.read_text().splitlines().index(text) + 1


def names(classes: list[type]) -> list[str]:
    return [cls.__qualname__ for cls in classes]


def mismatches_of(host: ModuleType, make_tree: MakeTree, body: str, contract: str) -> list[str]:
    """The mismatches of class ``C`` (which subclasses ``contract``) defined by ``body``."""
    root = plugins(make_tree, one_c=f"class C({contract}):\n" + textwrap.indent(body, "    "))
    with PikeManager([root], on_error="collect") as mgr:
        assert mgr.get_classes(conforms=getattr(host, contract)) == []
        [error] = mgr.errors
        assert isinstance(error, PluginContractError)
        return list(error.mismatches)


# -- what conforms -------------------------------------------------------------------


def test_a_class_that_implements_a_protocol_conforms_without_subclassing_it(
    host: ModuleType, make_tree: MakeTree
) -> None:
    root = plugins(make_tree, good_c=GOOD_READER + "\nclass Helper:\n    pass\n")
    with PikeManager([root]) as mgr:  # on_error="raise": a helper raises nothing
        assert names(mgr.get_classes(conforms=host.Reader)) == ["GoodReader"]
        assert names(mgr.get_classes()) == ["GoodReader", "Helper"]
        assert mgr.errors == []


def test_a_folder_of_conforming_classes_is_returned_whole(
    host: ModuleType, make_tree: MakeTree
) -> None:
    root = plugins(make_tree, **{f"all_{i}": GOOD_READER for i in range(5)})
    with PikeManager([root]) as mgr:
        found = mgr.get_classes(conforms=host.Reader)
        assert [cls.__module__ for cls in found] == [f"all_{i}" for i in range(5)]
        assert mgr.errors == []


def test_static_listing_does_not_count_a_listed_contracts_declarations(
    make_tree: MakeTree,
) -> None:
    root = make_tree(
        {
            "app.py": "from typing import Protocol\n\n\nclass Reads(Protocol):\n"
            "    def read(self, path): ...\n",
            "csv_c.py": "from app import Reads\n\n\nclass Csv(Reads):\n    pass\n",
        }
    )
    sys.path.insert(0, str(root))
    try:
        import app  # type: ignore[import-not-found]

        listing = static.list_classes([root], contract=app.Reads)
    finally:
        sys.path.remove(str(root))
        sys.modules.pop("app", None)
        sys.path_importer_cache.pop(str(root), None)
    assert [(e.name, e.missing) for e in listing.contract_errors] == [("Csv", ("read",))]


def test_static_listing_judges_against_a_nested_contract_by_its_own_name(
    make_tree: MakeTree,
) -> None:
    from typing import Protocol

    class Outer:
        class Runs(Protocol):
            def run(self, job): ...

    root = make_tree({"nest_c.py": "from app import Runs\n\n\nclass Idle(Runs):\n    pass\n"})
    listing = static.list_classes([root], contract=Outer.Runs)
    assert [(e.name, e.missing) for e in listing.contract_errors] == [("Idle", ("run",))]


def test_a_contract_kept_among_the_plugins_is_neither_returned_nor_told(
    make_tree: MakeTree,
) -> None:
    root = make_tree(
        {
            "kept_c.py": """
from typing import Protocol


class Runs(Protocol):
    def run(self, job): ...


class Runner:
    def run(self, job): ...


class Claims(Runs):  # subclasses it, implements nothing of its own
    pass
"""
        }
    )
    with PikeManager([root], on_error="collect") as mgr:
        contract = mgr.load_plugin("kept_c").Runs
        assert names(mgr.get_classes(conforms=contract)) == ["Runner"]
        [claims] = mgr.errors
        assert claims.qualname == "Claims"  # type: ignore[attr-defined]


def test_every_kind_of_mismatch_is_named(host: ModuleType, make_tree: MakeTree) -> None:
    body = """
def read(self, path, extra, *, mode):  # a second positional and a keyword it requires
    pass
def size(self, *, verbose):  # requires a keyword-only the contract does not pass
    pass
def close(self):  # not async
    pass
"""
    assert mismatches_of(host, make_tree, body, "Reader") == [
        "close: is not async, but declared async",
        "name: missing",
        "read: requires 'extra', which the host does not pass",
        "read: takes no keyword argument 'encoding', which the host passes",
        "read: requires keyword-only 'mode', which the host does not pass",
        "size: requires keyword-only 'verbose', which the host does not pass",
    ]


def test_too_few_positional_parameters_and_values_that_are_no_methods(
    host: ModuleType, make_tree: MakeTree
) -> None:
    body = """
name = "x"
read = None
size = 3
def close():  # cannot even take the instance
    pass
"""
    assert mismatches_of(host, make_tree, body, "Reader") == [
        "close: takes no parameter for the instance it is called on",
        "read: is None, not a method",
        "size: is an int, not a method",
    ]
    body = """
name = "x"
def read(self, *, encoding):
    pass
async def size(self):
    pass
async def close(self):
    pass
"""
    assert mismatches_of(host, make_tree, body, "Reader") == [
        "read: takes 0 positional arguments; the host passes 1",
        "size: is async, but declared not async",
    ]


def test_the_ways_a_method_can_take_what_the_contract_passes(
    host: ModuleType, make_tree: MakeTree
) -> None:
    root = plugins(
        make_tree,
        ways_c="""
import functools


def logged(func):
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        return func(*args, **kwargs)
    return wrapper


class Star:  # takes anything
    name = "s"
    def read(self, *args, **kwargs): ...
    def size(self, *args): ...
    async def close(self, *args, **kwargs): ...


class ByName:  # the keyword by a positional-or-keyword parameter past the positionals
    name: str  # declared, set on the instance
    def read(self, path, encoding): ...
    @staticmethod
    def size(): ...
    @classmethod
    async def close(cls): ...


class Wrapped:  # a decorator's wrapper: the signature it reports is the one read
    name = "w"
    @logged
    def read(self, path, *, encoding): ...
    @logged
    def size(self, required): ...
    async def close(self): ...


class Twice:  # would get 'encoding' both by position and by name
    name = "t"
    def read(self, encoding): ...
    def size(self): ...
    async def close(self): ...
""",
    )
    with PikeManager([root], on_error="collect") as mgr:
        assert names(mgr.get_classes(conforms=host.Reader)) == ["Star", "ByName"]
        found = mgr.get_classes(
            lambda cls: cls.__name__ in ("Wrapped", "Twice"), conforms=host.Reader
        )
        assert found == []
        assert mgr.errors == []  # none claims the contract: left out, no error
    with PikeManager([root], on_error="collect") as mgr:
        # Asked for by base, every class claims to be a plugin: each misfit is told.
        found = mgr.get_all_inherited_classes(object, conforms=host.Reader)
        assert names(found) == ["Star", "ByName"]
        by_class = {e.qualname: e.mismatches for e in mgr.errors}  # type: ignore[attr-defined]
        assert by_class == {
            "Wrapped": ("size: requires 'required', which the host does not pass",),
            "Twice": ("read: would get 'encoding' both by position and by name",),
        }


def test_methods_alike_but_for_a_name_the_contract_passes_are_judged_apart(
    host: ModuleType, make_tree: MakeTree
) -> None:
    # Classes are judged in bulk, once per shape of parameters: a name the contract
    # passes by keyword is part of that shape.
    body = """
class Takes{i}:
    name = "t"
    def read(self, path, encoding): ...
    def size(self): ...
    async def close(self): ...


class Misnamed{i}:
    name = "m"
    def read(self, path, codec): ...
    def size(self): ...
    async def close(self): ...
"""
    root = plugins(make_tree, **{f"alike_{i}": body.format(i=i) for i in range(3)})
    with PikeManager([root], on_error="collect") as mgr:
        found = mgr.get_all_inherited_classes(object, conforms=host.Reader)
        assert sorted(names(found)) == ["Takes0", "Takes1", "Takes2"]
        assert sorted(e.qualname for e in mgr.errors) == [  # type: ignore[attr-defined]
            "Misnamed0",
            "Misnamed1",
            "Misnamed2",
        ]
        assert {e.mismatches for e in mgr.errors} == {  # type: ignore[attr-defined]
            (
                "read: requires 'codec', which the host does not pass",
                "read: takes no keyword argument 'encoding', which the host passes",
            )
        }


def test_callables_that_are_no_functions_are_read_by_their_signature(
    host: ModuleType, make_tree: MakeTree
) -> None:
    root = plugins(
        make_tree,
        partial_c="""
import functools


def _read(path, *args, encoding, **options): ...
def _size(a, b=0, *, flag=False, **options): ...
async def _close(*args): ...


class Partial:
    name = "p"
    read = functools.partial(_read)  # called as it is: no instance passed
    size = functools.partial(_size, 1)
    close = functools.partial(_close)


class Needs:
    name = "n"
    read = functools.partial(_read)
    size = functools.partial(_size)  # 'a' is required, and the contract passes nothing
    close = functools.partial(_close)
""",
    )
    with PikeManager([root], on_error="collect") as mgr:
        found = mgr.get_all_inherited_classes(object, conforms=host.Reader)
        assert names(found) == ["Partial"]
        [needs] = mgr.errors
        assert needs.mismatches == (  # type: ignore[attr-defined]
            "size: requires 'a', which the host does not pass",
        )


def test_partialmethods_and_singledispatchmethods_are_called_as_what_they_leave(
    host: ModuleType, make_tree: MakeTree
) -> None:
    root = plugins(
        make_tree,
        methods_c="""
import functools


class Dispatching:
    name = "d"
    @functools.singledispatchmethod
    def read(self, path, *, encoding): ...
    def _size(self, unit): ...
    size = functools.partialmethod(_size, "bytes")
    async def close(self): ...


class Filled:
    name = "f"
    def _read(self, mode, path, *, encoding): ...
    read = functools.partialmethod(_read, "r", "fixed")  # nothing left for the path
    def size(self): ...
    async def close(self): ...
""",
    )
    with PikeManager([root], on_error="collect") as mgr:
        found = mgr.get_all_inherited_classes(object, conforms=host.Reader)
        assert names(found) == ["Dispatching"]
        [filled] = mgr.errors
        assert filled.mismatches == (  # type: ignore[attr-defined]
            "read: takes 0 positional arguments; the host passes 1",
        )


def test_a_class_no_class_statement_made_is_told_without_a_line(
    host: ModuleType, make_tree: MakeTree
) -> None:
    # (type(), called here: a metaclass's __new__ would name its own module instead)
    root = plugins(make_tree, made_c='Made = type("Made", (), {"name": "m"})\n')
    with PikeManager([root], on_error="collect") as mgr:
        assert mgr.get_all_inherited_classes(object, conforms=host.Reader) == []
        [error] = mgr.errors
    assert isinstance(error, PluginContractError)
    assert (error.qualname, error.lineno) == ("Made", None)
    assert str(error).startswith(f"plugin class made_c.Made ({root / 'made_c.py'}) does not")


def test_abstract_methods_classmethods_staticmethods_and_properties(
    host: ModuleType, make_tree: MakeTree
) -> None:
    root = plugins(
        make_tree,
        run_c="""
class Good(Runner):
    kind = "batch"  # a property's member: any attribute will do
    def run(self, job): ...
    @classmethod
    def make(cls, config, extra=None): ...
    @staticmethod
    def check(value): ...


class Lazy(Runner):  # what it does not implement stays abstract
    def run(self, job): ...


class Wrong(Runner):
    @property
    def kind(self): ...
    def run(self, job, retries): ...  # requires what the contract only may pass
    def make(self, config): ...  # an instance method is called on the class too
    def check(self): ...  # takes the instance where the value goes


class Elsewhere:  # does not claim the contract: left out unsaid
    def run(self): ...
""",
    )
    with PikeManager([root], on_error="collect") as mgr:
        assert names(mgr.get_classes(conforms=host.Runner)) == ["Good"]
        lazy, wrong = mgr.errors
        assert lazy.qualname == "Lazy"  # type: ignore[attr-defined]
        assert lazy.mismatches == (  # type: ignore[attr-defined]
            "check: missing",
            "kind: missing",
            "make: missing",
        )
        assert wrong.qualname == "Wrong"  # type: ignore[attr-defined]
        assert wrong.mismatches == (  # type: ignore[attr-defined]
            "check: is an instance method, but declared to be called on the class",
            "make: is an instance method, but declared to be called on the class",
            "run: requires 'retries', which the host does not pass",
        )
        assert host.Runner.helper is not None  # a method that is not abstract: no member


def test_protocol_members_come_from_its_protocol_bases_and_annotations(
    host: ModuleType, make_tree: MakeTree
) -> None:
    root = plugins(
        make_tree,
        named_c="""
class Label:
    label = "x"
    title = "T"


class Property:
    label: str
    @property
    def title(self): return "T"


class NoTitle:
    label = "x"


class Inherits(Named):  # the protocol's own declarations are not implementations
    pass


class Closes(Closing):
    async def close(self): ...
""",
    )
    with PikeManager([root], on_error="collect") as mgr:
        assert names(mgr.get_classes(conforms=host.Named)) == ["Label", "Property"]
        [inherits] = mgr.errors
        assert inherits.mismatches == ("label: missing", "title: missing")  # type: ignore[attr-defined]
    with PikeManager([root], on_error="collect") as mgr:
        assert names(mgr.get_classes(conforms=host.Closing)) == ["Closes"]
        assert mgr.errors == []


# -- who is told -----------------------------------------------------------------------


def test_a_method_left_abstract_again_is_missing(host: ModuleType, make_tree: MakeTree) -> None:
    root = plugins(
        make_tree,
        again_c="""
import abc


class Again(Runner):
    kind = "k"
    @abc.abstractmethod
    def run(self, job): ...  # declared abstract anew: implements nothing
    @classmethod
    def make(cls, config): ...
    @staticmethod
    def check(value): ...
""",
    )
    with PikeManager([root], on_error="collect") as mgr:
        assert mgr.get_classes(conforms=host.Runner) == []
        [again] = mgr.errors
        assert again.mismatches == ("run: missing",)  # type: ignore[attr-defined]


def test_what_python_finds_decides_and_no_plugin_code_runs(
    host: ModuleType, make_tree: MakeTree
) -> None:
    root = plugins(
        make_tree,
        odd_c="""
ran = []


class Elsewhere:
    def read(self): ...  # takes no path


class Reordering(type):
    def mro(cls):  # Python looks in Elsewhere first
        return (Elsewhere, cls, object) if cls.__name__ == "Odd" else super().mro()


class Odd(metaclass=Reordering):
    name = "o"
    def read(self, path, *, encoding): ...
    def size(self): ...
    async def close(self): ...


class Hashed(type):
    def __hash__(cls):
        ran.append("hash")
        return 1
    def __eq__(cls, other):
        ran.append("eq")
        return cls is other


class Meta(type, metaclass=Hashed):
    pass


class Sly:
    @property
    def __class__(self):
        ran.append("__class__")
        return property


class Hooked(metaclass=Meta):
    name = "h"
    read = Sly()
    def size(self): ...
    async def close(self): ...
""",
    )
    with PikeManager([root], on_error="collect") as mgr:
        mgr.get_classes()  # picking the classes out of the module (not judged yet)
        ran = list(sys.modules["odd_c"].ran)
        found = mgr.get_all_inherited_classes(object, conforms=host.Reader)
        assert found == []
        by_class = {e.qualname: e.mismatches for e in mgr.errors}  # type: ignore[attr-defined]
        assert by_class["Odd"] == (
            "read: takes 0 positional arguments; the host passes 1",
            "read: takes no keyword argument 'encoding', which the host passes",
        )
        assert by_class["Hooked"] == ("read: is a Sly, not a method",)
        assert sys.modules["odd_c"].ran == ran  # judging ran none of them


def test_the_error_names_the_class_its_file_and_its_class_statement(
    host: ModuleType, make_tree: MakeTree
) -> None:
    root = plugins(
        make_tree,
        told_c="""
def register(cls):
    return cls


@register
@register
class Broken(Reader):
    name = "b"
""",
    )
    with PikeManager([root]) as mgr, pytest.raises(PluginContractError) as raised:
        mgr.get_classes(conforms=host.Reader)
    error = raised.value
    assert isinstance(error, PluginError)
    line = line_of(root / "told_c.py", "class Broken(Reader):")  # not its decorators'
    assert (error.module_name, error.qualname, error.lineno) == ("told_c", "Broken", line)
    assert error.path == str(root / "told_c.py")
    assert error.contract == "contract_host.Reader"
    assert error.mismatches == ("close: missing", "read: missing", "size: missing")
    assert str(error) == (
        f"plugin class told_c.Broken ({root / 'told_c.py'}, line {line}) does not conform to "
        "contract_host.Reader: close: missing; read: missing; size: missing"
    )


def test_the_class_statement_is_found_inside_a_block_and_the_last_of_a_name_wins(
    host: ModuleType, make_tree: MakeTree
) -> None:
    root = plugins(
        make_tree,
        blocks_c="""
if True:
    class InIf(Reader):
        name = "i"
try:
    import json
except ImportError:
    pass
else:
    class InTry(Reader):
        name = "t"
class Twice(Reader):
    name = "first"
class Twice(Reader):
    name = "second"
""",
    )
    path = root / "blocks_c.py"
    with PikeManager([root], on_error="collect") as mgr:
        assert mgr.get_classes(conforms=host.Reader) == []
        lines = {e.qualname: e.lineno for e in mgr.errors}
    source = path.read_text().splitlines()
    second = len(source) - source[::-1].index("class Twice(Reader):")
    assert lines == {
        "InIf": line_of(path, "    class InIf(Reader):"),
        "InTry": line_of(path, "    class InTry(Reader):"),
        "Twice": second,  # the class the module holds
    }


def test_asked_for_by_base_a_class_is_told_even_when_it_does_not_subclass_the_contract(
    host: ModuleType, make_tree: MakeTree
) -> None:
    root = plugins(
        make_tree,
        task_c=GOOD_READER.replace("class GoodReader:", "class GoodTask(Task):")
        + "\nclass HalfTask(Task):\n    name = 'h'\n"
        + "\nclass Helper:\n    pass\n",
    )
    for pick in ("get_all_inherited_classes", "find_inherited_classes", "select"):
        with PikeManager([root], on_error="collect") as mgr:
            found = getattr(mgr, pick)(host.Task, conforms=host.Reader)
            assert names(found) == ["GoodTask"], pick
            assert [e.qualname for e in mgr.errors] == ["HalfTask"], pick  # type: ignore[attr-defined]
    with PikeManager([root], on_error="collect") as mgr:
        assert names(mgr.select(conforms=host.Reader)) == ["GoodTask"]
        assert mgr.errors == []  # no base asked: the half task claims nothing


def test_with_a_limit_only_conforming_classes_count(host: ModuleType, make_tree: MakeTree) -> None:
    root = plugins(
        make_tree,
        a_half_c="class HalfTask(Task):\n    name = 'h'\n",
        b_good_c=GOOD_READER.replace("class GoodReader:", "class GoodTask(Task):"),
        c_other_c=GOOD_READER.replace("class GoodReader:", "class OtherTask(Task):"),
    )
    with PikeManager([root], on_error="collect") as mgr:
        found = mgr.select(host.Task, conforms=host.Reader, limit=1)
        assert names(found) == ["GoodTask"]
        assert "c_other_c" not in sys.modules
        assert [e.qualname for e in mgr.errors] == ["HalfTask"]  # type: ignore[attr-defined]


@pytest.mark.parametrize("contract", [int, 3, "Reader", object, PikeManager])
def test_conforms_must_be_a_protocol_or_an_abstract_base_class(
    host: ModuleType, make_tree: MakeTree, contract: object
) -> None:
    root = plugins(make_tree, good_c=GOOD_READER)
    with PikeManager([root]) as mgr:
        for call in (
            lambda: mgr.get_classes(conforms=contract),
            lambda: mgr.get_all_inherited_classes(object, conforms=contract),
            lambda: mgr.find_inherited_classes(object, conforms=contract),
            lambda: mgr.select(conforms=contract),
        ):
            with pytest.raises(PikeTypeError, match=r"conforms is .*typing\.Protocol"):
                call()
        assert "good_c" not in sys.modules  # refused before anything was imported
    with pytest.raises(PikeTypeError, match="contract is"):
        static.list_classes([root], contract=contract)  # type: ignore[arg-type]


def test_a_class_whose_check_raises_is_a_plugin_object_error(
    host: ModuleType, make_tree: MakeTree
) -> None:
    root = plugins(
        make_tree,
        hostile_c="""
class Signature:
    @property
    def __signature__(self):
        raise RuntimeError("no signature for you")
    def __call__(self, *args):
        pass


class Hostile(Reader):
    name = "h"
    read = Signature()
    def size(self): ...
    async def close(self): ...
""",
    )
    with PikeManager([root], on_error="collect") as mgr:
        assert mgr.get_classes(conforms=host.Reader) == []
        [error] = mgr.errors
        assert isinstance(error, PluginObjectError) and error.qualname == "Hostile"
        assert "whether it conforms to contract_host.Reader" in str(error)
        assert isinstance(error.__cause__, RuntimeError)


# -- named managers --------------------------------------------------------------------


def test_named_managers_check_each_plugin_before_invoking_it(
    host: ModuleType, make_tree: MakeTree, caplog: pytest.LogCaptureFixture
) -> None:
    from pike.named import DriverManager, ExtensionManager

    root = plugins(
        make_tree,
        named_plugins_c=GOOD_READER
        + """
made = []


class Bad(Reader):
    def __init__(self):
        made.append(self)


def factory():
    pass
""",
    )
    (root / "entry_points.txt").write_text(
        "[app.readers]\n"
        "good = named_plugins_c:GoodReader\n"
        "bad = named_plugins_c:Bad\n"
        "func = named_plugins_c:factory\n"
    )
    with (
        caplog.at_level(logging.ERROR, logger="stevedore.extension"),
        ExtensionManager(
            "app.readers", search_paths=[root], invoke_on_load=True, conforms=host.Reader
        ) as em,
    ):
        assert em.names() == ["good"]
        bad, func = em.errors
        assert isinstance(bad, EntryPointError) and isinstance(func, EntryPointError)
        assert isinstance(bad.__cause__, PluginContractError)
        assert bad.__cause__.qualname == "Bad" and bad.__cause__.lineno == line_of(
            root / "named_plugins_c.py", "class Bad(Reader):"
        )
        assert "read: missing" in str(bad)
        assert isinstance(func.__cause__, PluginContractError)
        assert "is a function, not a class" in str(func.__cause__)
        assert sys.modules["named_plugins_c"].made == []  # never invoked
    logged = [r.getMessage() for r in caplog.records]
    assert any("Could not load 'bad'" in m and "does not conform" in m for m in logged)
    with pytest.raises(PluginContractError, match="Bad"):
        DriverManager("app.readers", "bad", search_paths=[root], conforms=host.Reader)
    with DriverManager("app.readers", "good", search_paths=[root], conforms=host.Reader) as dm:
        assert dm.driver.__name__ == "GoodReader"
    with pytest.raises(PikeTypeError, match="conforms is"):
        ExtensionManager("app.readers", search_paths=[root], conforms=42)  # type: ignore[call-overload]


# -- static listing --------------------------------------------------------------------


def test_static_listing_reports_missing_members_by_name_without_importing(
    host: ModuleType, make_tree: MakeTree
) -> None:
    root = plugins(
        make_tree,
        static_c="""
import somewhere


class Mid(Reader):
    name = "m"


class Leaf(Mid):
    def read(self): ...  # by name: how it is called is not judged without running it


class Full(Leaf):
    def size(self): ...
    async def close(self): ...


class Unknown(somewhere.Mixin, Reader):  # a base pike cannot read: not judged
    pass


class Declared(Reader):
    name: str
    def read(self): ...
    size = close = None  # defined, by name


class Unclaimed:
    pass


class LocalTask:
    def kind(self): ...


class OtherTask(LocalTask):
    def run(self): ...


class HostTask(Task):  # the host's class provides what it may: not judged
    def run(self): ...
""",
    )
    before = set(sys.modules)
    for isolate in (False, True):
        listing = static.list_classes([root], contract=host.Reader, isolate=isolate)
        gaps = {e.name: e.missing for e in listing.contract_errors}
        assert gaps == {"Mid": ("close", "read", "size"), "Leaf": ("close", "size")}, isolate
        [mid, _leaf] = listing.contract_errors
        assert (mid.module, mid.qualname, mid.path, mid.lineno, mid.line) == (
            "static_c",
            "static_c.Mid",
            str(root / "static_c.py"),
            line_of(root / "static_c.py", "class Mid(Reader):"),
            line_of(root / "static_c.py", "class Mid(Reader):"),
        )
        assert mid.contract == "contract_host.Reader"
        assert str(mid) == (
            f"plugin class static_c.Mid ({root / 'static_c.py'}, line {mid.lineno}) "
            "lacks close, read, size of contract contract_host.Reader"
        )
    # By base: every class that matches it is judged, claiming the contract or not.
    listing = static.list_classes([root], base="LocalTask", contract=host.Runner)
    assert [(e.name, e.missing) for e in listing.contract_errors] == [
        ("OtherTask", ("check", "make"))
    ]
    listing = static.list_classes([root], base="Task", contract=host.Runner)
    assert [c.name for c in listing.classes] == ["HostTask"]
    assert listing.contract_errors == []
    assert static.list_classes([root]).contract_errors == []
    assert not (set(sys.modules) - before) & {"static_c", "somewhere"}
