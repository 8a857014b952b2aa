"""What a plugin class declares, read from source without importing it: ``attrs``,
``dynamic`` and ``plugin`` of static listing (docs/picking.md)."""

from __future__ import annotations

import marshal
import os
import pickle
import random
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from pike.discovery import static
from tests.conftest import kept_listings, values_of


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A cache folder of the test's own, so that what it plants is what a listing reads."""
    folder = tmp_path / "cache"
    monkeypatch.setenv("PIKE_CACHE_DIR", str(folder))
    return folder


@pytest.fixture
def later(monkeypatch: pytest.MonkeyPatch) -> None:
    """pike's clock ten seconds ahead: files just written are old enough to vouch for by
    their state, so that a whole listing is kept."""
    import time

    from pike.discovery import _index

    ahead = time.time_ns() + 10 * 10**9
    monkeypatch.setattr(_index.time, "time_ns", lambda: ahead)


def write(folder: Path, name: str, source: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(textwrap.dedent(source))
    return path


def one(folder: Path) -> static.StaticClass:
    [cls] = static.list_classes([folder]).classes
    return cls


BODY = """
class Reader:
    extensions = (".csv",)
    flag: bool = True
    a = b = 3
    x = 1
    x = 2
    y = 1
    y = other = None
    z = len("x")
    bare: int
    counter = 0
    counter += 1
    p, q = 1, 2
    product = [1] * 3
    if True:
        conditional = 5
    for looped in range(2):
        pass
    with open(__file__) as opened:
        pass
    try:
        tried = 1
    except Exception:
        pass
    (walrus := 4)
    def method(self):
        return 1
    async def coroutine(self):
        return 1
    @property
    def prop(self):
        return 1
    t1 = (1,)
    t2 = (True,)
    f1 = 1.0
    items = [1, 2]
    items.append(3)
    mapping = {"k": {1, 2}, 2: [b"x", None, ..., 1j]}
    mapping["k"] = 3
    class Meta:
        pass
    import json as imported
    deleted = 1
    del deleted
    fn = method
    method2 = 1
    def method2(self):
        return 2
    handled = 1
    try:
        pass
    except ValueError as handled:  # bound, then deleted
        pass
    defaulted = 1
    def uses_a_walrus(self, a=(defaulted := 2)):  # the default runs in the class body
        return a
    global declared  # the module's name, not the class's
    declared = 1
    looped_over = 5
    squares = [looped_over * looped_over for looped_over in range(3)]  # its own scope
    @property
    def settable(self):
        return 1
    @settable.setter
    def settable(self, value):
        pass
"""


def test_attrs_and_dynamic_follow_the_binding_rules(tmp_path: Path) -> None:
    write(tmp_path / "plugins", "reader.py", BODY)
    cls = one(tmp_path / "plugins")
    assert dict(cls.attrs) == {
        "extensions": (".csv",),
        "flag": True,
        "a": 3,
        "b": 3,
        "x": 2,
        "y": None,
        "other": None,
        "t1": (1,),
        "t2": (True,),
        "f1": 1.0,
        "looped_over": 5,
    }
    assert cls.dynamic == {
        "z",
        "counter",
        "p",
        "q",
        "product",
        "conditional",
        "looped",
        "opened",
        "tried",
        "walrus",
        "items",
        "mapping",
        "Meta",
        "imported",
        "deleted",
        "fn",
        "method2",
        "handled",
        "defaulted",
        "squares",
    }
    # Bare annotations, methods (a property's setter too) and a global are in neither.
    for name in ("bare", "method", "coroutine", "prop", "settable", "declared"):
        assert name not in cls.attrs and name not in cls.dynamic


def test_types_are_kept_exactly(tmp_path: Path) -> None:
    write(tmp_path / "plugins", "typed.py", BODY)
    for _ in range(2):  # parsed, then read back from the index
        cls = one(tmp_path / "plugins")
        assert type(cls.attrs["t1"][0]) is int and type(cls.attrs["t2"][0]) is bool
        assert type(cls.attrs["f1"]) is float and type(cls.attrs["flag"]) is bool


def test_every_kind_of_literal_is_read_and_read_back(tmp_path: Path) -> None:
    values: list[Any] = [
        "s",
        b"b",
        1,
        -1,
        1.5,
        float("inf"),
        2j,
        1 + 2j,
        True,
        None,
        ...,
        (1, "a"),
        [1, [2, [3]]],
        {1, 2},
        {"k": (1, {"n": None})},
        (),
        [],
        {},
    ]
    lines = "".join(f"    v{i} = {v!r}\n" for i, v in enumerate(values))
    lines = lines.replace("inf", "1e999").replace("Ellipsis", "...")
    write(tmp_path / "plugins", "kinds.py", "class Kinds:\n" + lines)
    for _ in range(3):  # parsed; read back file by file; read back whole
        cls = one(tmp_path / "plugins")
        assert [cls.attrs[f"v{i}"] for i in range(len(values))] == values
        assert [type(cls.attrs[f"v{i}"]) for i in range(len(values))] == list(map(type, values))


def test_attrs_and_plugin_are_read_only_and_the_record_hashes(tmp_path: Path) -> None:
    write(tmp_path / "plugins", "ro.py", '__plugin__ = {"name": "ro"}\nclass R:\n    x = [1]\n')
    cls = one(tmp_path / "plugins")
    with pytest.raises(TypeError, match="read-only"):
        cls.attrs["x"] = 2  # type: ignore[index]
    with pytest.raises(TypeError, match="read-only"):
        cls.plugin.update(name="other")  # type: ignore[attr-defined]
    assert cls.attrs.copy() == {"x": [1]}  # type: ignore[attr-defined]
    assert pickle.loads(pickle.dumps(cls)) == cls
    assert isinstance(hash(cls.plugin), int) and isinstance(cls.dynamic, frozenset)


def test_plugin_is_the_modules_dict_for_each_of_its_classes(tmp_path: Path) -> None:
    source = '__plugin__ = {"name": "two", "tags": ["a"]}\nclass A:\n    pass\nclass B:\n    pass\n'
    write(tmp_path / "plugins", "two.py", source)
    write(tmp_path / "plugins", "none.py", "class C:\n    pass\n")
    for _ in range(2):
        listing = static.list_classes([tmp_path / "plugins"])
        by_name = {c.name: c for c in listing.classes}
        assert by_name["A"].plugin == by_name["B"].plugin == {"name": "two", "tags": ["a"]}
        assert by_name["C"].plugin == {}
        assert listing.errors == []


@pytest.mark.parametrize(
    ("source", "why"),
    [
        ("__plugin__ = 5\n", "a literal of type int, not a dict"),
        ("__plugin__ = dict(a=1)\n", "not a literal"),
        ("__plugin__ = {}\n__plugin__['a'] = 1\n", "not a literal"),
        ("if True:\n    __plugin__ = {'a': 1}\n", "not a literal"),
    ],
)
def test_a_plugin_that_is_not_a_dict_literal_is_a_static_error(
    tmp_path: Path, source: str, why: str
) -> None:
    write(tmp_path / "plugins", "bad.py", source + "class K:\n    pass\n")
    for _ in range(2):
        listing = static.list_classes([tmp_path / "plugins"])
        assert [c.name for c in listing.classes] == ["K"]
        assert listing.classes[0].plugin == {}
        [error] = listing.errors
        assert error.module == "bad" and why in error.message and error.lineno


def test_a_literal_over_64_kib_is_left_out_and_reported(tmp_path: Path) -> None:
    huge = "[\n" + "    1,\n" * 12000 + "]"  # 72 KB of source, over several lines
    just = repr("x" * (64 * 1024 - 2))  # exactly 64 KiB of source, on one line
    call = "dict(\n" + "    a=1,\n" * 12000 + ")"  # as long, and no literal: only dynamic
    source = f"class Big:\n    small = 1\n    huge = {huge}\n    just = {just}\n"
    source += f"    made = {call}\n"
    write(tmp_path / "plugins", "big.py", source)
    for _ in range(2):
        listing = static.list_classes([tmp_path / "plugins"])
        [cls] = listing.classes
        assert set(cls.attrs) == {"small", "just"} and cls.dynamic == {"huge", "made"}
        [error] = listing.errors
        assert (error.module, error.lineno) == ("big", 3)
        assert "'huge'" in error.message and "64 KiB" in error.message


def test_a_poisoned_index_is_not_believed(tmp_path: Path, cache: Path) -> None:
    from pike import _cache

    write(tmp_path / "plugins", "p.py", "class P:\n    x = 1\n")
    assert one(tmp_path / "plugins").attrs == {"x": 1}
    for path in cache.glob("*"):
        document = _cache.read(path.name)
        if document is None:
            continue
        if "attrs" in document:  # the whole listing: an attribute that is no literal
            document["attrs"] = ((0, {"x": compile("1", "f", "eval")}),)
        elif "files" in document and "root" in document:  # each file's facts
            files = {}
            for relative, (state, facts) in document["files"].items():
                classes = tuple((*c[:4], {"x": object.__name__}, (), ()) for c in facts[0])
                files[relative] = (state, (classes, *facts[1:3], {"k": [print]}, ()))
            document["files"] = files
        _cache.write(path.name, document)
    cls = one(tmp_path / "plugins")
    assert cls.attrs == {"x": 1} and cls.plugin == {}


def test_edits_are_seen_on_the_next_listing(tmp_path: Path) -> None:
    """A random sequence of edits, each listing compared with one made with no index."""
    folder = tmp_path / "plugins"
    rng = random.Random(22)
    choices = ["x = 1", "x = 'a'", "x = (1,)", "x = (True,)", "x = f()", "x: int", "pass"]
    for step in range(40):
        name = f"m{rng.randrange(4)}.py"
        body = "\n    ".join(rng.choice(choices) for _ in range(3))
        plugin = rng.choice(["", f"__plugin__ = {{'n': {step}}}\n", "__plugin__ = 1\n"])
        path = write(folder, name, f"{plugin}class K{step}:\n    {body}\n")
        os.utime(path, ns=(step * 10**9, step * 10**9))  # a state of its own, settled
        listed = static.list_classes([folder])
        fresh = _fresh(folder)
        assert listed.classes == fresh.classes
        assert [(e.module, e.message) for e in listed.errors] == [
            (e.module, e.message) for e in fresh.errors
        ]


def _fresh(folder: Path, base: str | None = None) -> static.StaticListing:
    """The listing of ``folder`` with pike's cache folder off (nothing kept, all parsed)."""
    before = os.environ.get("PIKE_CACHE_DIR")
    os.environ["PIKE_CACHE_DIR"] = ""
    try:
        return static.list_classes([folder], base=base)
    finally:
        if before is None:
            del os.environ["PIKE_CACHE_DIR"]
        else:
            os.environ["PIKE_CACHE_DIR"] = before


def test_nothing_is_imported(tmp_path: Path) -> None:
    write(tmp_path / "plugins", "sentinel_mod.py", "import sys\nsys.exit(3)\nclass S:\n    a = 1\n")
    assert one(tmp_path / "plugins").attrs == {"a": 1}
    assert "sentinel_mod" not in sys.modules


def test_what_may_be_read_back_as_a_literal() -> None:
    from pike._literals import all_literal, is_literal

    deep: list[Any] = []
    for _ in range(150):
        deep = [deep]
    assert is_literal({"a": [1, (2, {3})], 4: {b"x": None}})
    assert not is_literal(deep)
    assert not is_literal([1, object()]) and not is_literal({"k": print})
    assert all_literal([]) and not all_literal([1, {1: compile("1", "f", "eval")}])


def test_a_match_statement_makes_its_captures_dynamic(tmp_path: Path) -> None:
    source = "class M:\n    x = 1\n    match x:\n        case [a, *rest]:\n            pass\n"
    source += (
        "        case {'k': b, **others}:\n            pass\n        case c:\n            pass\n"
    )
    write(tmp_path / "plugins", "matched.py", source)
    cls = one(tmp_path / "plugins")
    assert cls.attrs == {"x": 1} and cls.dynamic == {"a", "rest", "b", "others", "c"}


WRONG_FACTS: list[Any] = [
    "facts",
    ((), (), None),
    ((("P", 1, (), ()),), (), None, {}, ()),
    ((("P", 0, (), (), {}, (), ()),), (), None, {}, ()),
    ((("P", 1, (), (), {1: 2}, (), ()),), (), None, {}, ()),
    ((("P", 1, (), (), {}, (1,), ()),), (), None, {}, ()),
    ((("P", 1, (), (), {}, (), ()),), (), None, [], ()),
    ((("P", 1, (), (), {}, (), ()),), (), None, {}, "notes"),
    ((("P", 1, (), (), {}, (), ()),), (), None, {}, ((1,),)),
    ((("P", 1, (), (), {}, (), ()),), (), None, {}, ((0, "m"),)),
    ((("P", 1, (), (), {}, (), ()),), (), None, {}, ((1, 2),)),
    ((), (), (1, "m"), {"k": 1}, ()),
]


@pytest.mark.parametrize("planted", WRONG_FACTS, ids=range(len(WRONG_FACTS)))
def test_a_files_facts_of_the_wrong_shape_are_drawn_afresh(
    tmp_path: Path, cache: Path, planted: object
) -> None:
    from pike import _cache

    write(tmp_path / "plugins", "p.py", "class P:\n    x = 1\n")
    assert one(tmp_path / "plugins").attrs == {"x": 1}
    for path in cache.glob("listing-*"):
        path.unlink()  # the whole listing gone: each file's facts are read
    [index] = cache.glob("index-*")
    document = _cache.read(index.name)
    assert document is not None
    document["files"] = {k: (state, planted) for k, (state, _f) in document["files"].items()}
    _cache.write(index.name, document)
    cls = one(tmp_path / "plugins")
    assert (cls.name, cls.attrs) == ("P", {"x": 1})


# A class's kept values as marshal reads them into a code object with a field out of
# range: marshal raises SystemError on 3.11 to 3.13 (ValueError on 3.10).
BAD_CODE = bytes.fromhex(
    "29027bda016b630000000000000000000000000200000000000000f30e0000009700640364018401"
    "5a00640253002904e90100000063020000e600000000000000000200000003000000f30c00000097"
    "007c007c017a000000530029014ea9002902da0161da016273020000002020da0178da0166720800"
    "000001000000730b0000008000d8090a883189da802af3000000004e290172020000002901720800"
    "0070720400000072090000007207000000fa083c6d6f64756c653e720a0000000100000073230000"
    "00f003010101f00201010df00001010df00001010df00001010df00001010df00001010d72090000"
    "00304e"
)

WRONG_TABLES: list[tuple[str, Any]] = [
    ("declared", "declared"),
    ("declared", ()),
    ("declared", (b"", b"")),
    ("declared", ("x",)),
    ("declared", (b"\x00garbage",)),
    ("declared", (marshal.dumps(({"x": 1},)),)),
    ("declared", (marshal.dumps(({1: 1}, None)),)),
    ("declared", (marshal.dumps(([("x", 1)], None)),)),
    ("declared", (marshal.dumps(({"x": 1}, (1,))),)),
    ("declared", (marshal.dumps(({"x": compile("1", "", "eval")}, None)),)),
    ("declared", (BAD_CODE,)),
    ("plugins", (BAD_CODE,)),
    ("plugins", (marshal.dumps("plugin"),)),
    ("plugins", (b"", b"")),
]


@pytest.mark.parametrize(("key", "planted"), WRONG_TABLES, ids=range(len(WRONG_TABLES)))
def test_a_whole_listings_tables_of_the_wrong_shape_are_not_believed(
    tmp_path: Path, cache: Path, key: str, planted: object, later: None
) -> None:
    from pike import _cache

    settled(write(tmp_path / "plugins", "p.py", "class P:\n    x = 1\n"))
    assert one(tmp_path / "plugins").attrs == {"x": 1}
    [listing] = kept_listings(cache)
    values = values_of(listing)
    document = _cache.read(values.name)
    assert document is not None
    # What classes declare is kept serialised apart, a class (a module) at a time.
    document[key] = planted
    _cache.write(values.name, document)
    listed = static.list_classes([tmp_path / "plugins"])
    assert [(c.name, c.attrs) for c in listed.classes] == [("P", {"x": 1})]


def test_many_classes_picked_by_base_from_a_whole_listing_are_made_in_bulk(
    tmp_path: Path, cache: Path, later: None
) -> None:
    folder = tmp_path / "plugins"
    write(folder, "base.py", "class Base:\n    pass\n")
    for i in range(80):
        source = f"__plugin__ = {{'n': {i}}}\nfrom base import Base\n"
        write(folder, f"m{i:02}.py", source + f"class C{i}(Base):\n    k = {i}\n    d = f()\n")
    for path in folder.iterdir():
        settled(path)
    first = static.list_classes([folder], base="Base")
    assert list(cache.glob("listing-*"))
    again = static.list_classes([folder], base="Base")  # from the whole listing
    assert first.classes == again.classes == _fresh(folder, "Base").classes
    assert [c.attrs["k"] for c in again.classes] == list(range(80))
    assert all(c.dynamic == {"d"} and c.plugin == {"n": c.attrs["k"]} for c in again.classes)


def test_a_whole_listing_where_every_class_declares_is_read_back_alike(
    tmp_path: Path, cache: Path, later: None
) -> None:
    # Every class with attrs and dynamic names, every module with a __plugin__: the
    # index's tables hold a value at every position.
    folder = tmp_path / "plugins"
    for i in range(12):
        source = f"__plugin__ = {{'n': {i}}}\nclass C{i}:\n    k = ({i},)\n    d = f()\n"
        settled(write(folder, f"m{i:02}.py", source))
    first = static.list_classes([folder])
    assert list(cache.glob("listing-*"))
    again = static.list_classes([folder])  # from the whole listing
    assert first.classes == again.classes == _fresh(folder, None).classes
    assert [c.attrs for c in again.classes] == [{"k": (i,)} for i in range(12)]
    assert all(c.dynamic == {"d"} and c.plugin == {"n": c.attrs["k"][0]} for c in again.classes)


@pytest.mark.parametrize("count", [5, 100])
@pytest.mark.parametrize("poisoned", [None, "picked", "other"])
def test_classes_picked_by_base_are_made_from_their_own_values(
    tmp_path: Path, cache: Path, later: None, poisoned: str | None, count: int
) -> None:
    """Only the picked classes' kept values are read; a wrong one among them is noticed
    and the folder listed afresh, a wrong one elsewhere is not needed."""
    folder = tmp_path / "plugins"
    settled(write(folder, "base.py", "class Base:\n    pass\n"))
    for i in range(count):
        source = f"__plugin__ = {{'n': {i}}}\nfrom base import Base\nclass Plugin{i}(Base):\n"
        source += f"    k = {i}\n    d = f()\nclass Helper{i}:\n    h = {i}\n"
        settled(write(folder, f"m{i:03d}.py", source))
    static.list_classes([folder])  # the whole listing kept
    if poisoned is not None:
        _poison_kept_class(cache, "Plugin3" if poisoned == "picked" else "Helper3")
    picked = static.list_classes([folder], base="Base")
    assert [(c.name, c.attrs, c.dynamic, c.plugin) for c in picked.classes] == [
        (f"Plugin{i}", {"k": i}, {"d"}, {"n": i}) for i in range(count)
    ]
    assert picked.classes == _fresh(folder, "Base").classes


@pytest.mark.parametrize("kept", ["another's", "gone"])
def test_a_kept_listing_believes_only_its_own_values(
    tmp_path: Path, cache: Path, later: None, kept: str
) -> None:
    """What a kept listing's classes declare is read from a document of its own, believed
    only with the listing's token: never another listing's (or an older one's)."""
    from pike import _cache

    settled(write(tmp_path / "plugins", "p.py", "class P:\n    x = 1\n"))
    assert static.list_classes([tmp_path / "plugins"]).classes[0].attrs == {"x": 1}
    [listing] = kept_listings(cache)
    values = values_of(listing)
    if kept == "gone":
        values.unlink()
    else:
        document = _cache.read(values.name)
        assert document is not None
        other = marshal.dumps(({"x": 2}, None))
        _cache.write(values.name, {**document, "token": os.urandom(8), "declared": (other,)})
    listed = static.list_classes([tmp_path / "plugins"])
    assert [(c.name, c.attrs) for c in listed.classes] == [("P", {"x": 1})]
    assert listed.classes == _fresh(tmp_path / "plugins").classes


def _poison_kept_class(cache: Path, name: str) -> None:
    """Make the kept listing in ``cache`` say that class ``name``'s attrs hold a code
    object (no literal)."""
    from pike import _cache

    [listing] = kept_listings(cache)
    document, values = _cache.read(listing.name), _cache.read(values_of(listing).name)
    assert document is not None and values is not None
    at = document["names"].split("\n").index(name)
    declared = list(values["declared"])
    declared[at] = marshal.dumps(({"k": compile("1", "", "eval")}, None))
    values["declared"] = tuple(declared)
    _cache.write(values_of(listing).name, values)


def settled(path: Path) -> None:
    """Give ``path`` and its folder times old enough to be trusted (a whole listing is
    kept only of files whose times are)."""
    for each in (path, path.parent):
        os.utime(each, ns=(10**18, 10**18))
