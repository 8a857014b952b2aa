"""One measurement in a fresh interpreter: ``child.py SIDE OPERATION ROOT BASE EXTRA``.

Run by ``run.py`` with ``-E -s`` (and ``-B`` where a scenario forbids bytecode
writes); prints one JSON object of timings in seconds. SIDE is ``pike``,
``floor`` (the standard library by hand), ``paused`` (the floor with the
garbage collector paused while importing, loading only), ``pike020`` or
``pluginbase`` (then EXTRA is the folder they are installed in).
"""

from __future__ import annotations

import gc
import importlib
import json
import os
import statistics
import sys
import time
import tracemalloc
import warnings

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def defined_classes(module):
    name = module.__name__
    return [v for v in vars(module).values() if isinstance(v, type) and v.__module__ == name]


def module_names(root):
    """Every module under ``root`` (packages walked), as the floor lists them."""
    names = []

    def walk(folder, prefix):
        with os.scandir(folder) as it:
            entries = sorted(it, key=lambda e: e.name)
        for entry in entries:
            if entry.name.endswith(".py") and entry.name != "__init__.py":
                names.append(prefix + entry.name[:-3])
            elif entry.is_dir() and os.path.exists(os.path.join(entry.path, "__init__.py")):
                names.append(prefix + entry.name)
                walk(entry.path, prefix + entry.name + ".")

    walk(root, "")
    return names


# -- loading: enter + classes + exit ------------------------------------------


#: The options of ``load_pike``'s EXTRA (comma-separated), as ``PikeManager`` arguments.
#: ``conforms`` (not a manager argument) is ``get_classes(conforms=bench_base.Runs)``.
LOAD_OPTIONS = {
    "conforms": {},
    "isolate": {"isolate": True},
    "quarantine": {"quarantine": True},
    "host": {"host": ("bench", "2.0")},
    "ignore": {"requires": "ignore"},
}


def load_pike(root, extra):
    """EXTRA: ``-`` for pike's default, or options of `LOAD_OPTIONS`, comma-separated
    (``isolate``: ``PikeManager([root], isolate=True)``; ``host,ignore``: ``host=("bench",
    "2.0"), requires="ignore"``). Also counts the warnings issued (none is expected),
    and tells whether ``ast`` was imported (a module's source was parsed)."""
    from pike.manager import PikeManager

    options = {}
    for option in extra.split(",") if extra != "-" else ():
        options.update(LOAD_OPTIONS[option])
    parsed_before = "ast" in sys.modules
    picking = {}
    if "conforms" in extra.split(","):
        from bench_base import Runs

        picking["conforms"] = Runs
    with warnings.catch_warnings(record=True) as caught:  # entered before the timing
        warnings.simplefilter("always")
        start = time.perf_counter()
        with PikeManager([root], **options) as mgr:
            classes = mgr.get_classes(**picking)
            discovered = time.perf_counter()
        end = time.perf_counter()
    return {
        "total": end - start,
        "discover": discovered - start,
        "exit": end - discovered,
        "classes": len(classes),
        "warnings": len(caught),
        "parsed": not parsed_before and "ast" in sys.modules,
    }


def import_all(root):
    """The floor's work: put ``root`` on sys.path, import each module, keep its classes."""
    sys.path.insert(0, root)
    classes = []
    for name in module_names(root):
        classes.extend(defined_classes(importlib.import_module(name)))
    return classes


def load_floor(root, extra):
    start = time.perf_counter()
    classes = import_all(root)
    end = time.perf_counter()
    return {"total": end - start, "classes": len(classes)}


def load_paused(root, extra):
    """The floor with the collector's full collections held back while importing, as
    pike does (the young generations are collected as usual).

    Not a budget: it shows how importing alone grows with the number of modules.
    """
    start = time.perf_counter()
    thresholds = gc.get_threshold()
    gc.set_threshold(thresholds[0], thresholds[1], 2**30)
    try:
        classes = import_all(root)
    finally:
        gc.set_threshold(*thresholds)
    return {"total": time.perf_counter() - start, "classes": len(classes)}


def load_pike020(root, extra):
    sys.path.insert(0, extra)
    from pike.manager import PikeManager

    start = time.perf_counter()
    with PikeManager([root]) as mgr:
        classes = mgr.get_classes()
    end = time.perf_counter()
    return {"total": end - start, "classes": len(classes)}


def load_pluginbase(root, extra):
    sys.path.insert(0, extra)
    from pluginbase import PluginBase

    start = time.perf_counter()
    base = PluginBase(package="bench_plugins")
    source = base.make_plugin_source(searchpath=[root], identifier="bench")
    classes = []
    with source:
        for name in source.list_plugins():
            classes.extend(defined_classes(source.load_plugin(name)))
    source.cleanup()
    end = time.perf_counter()
    return {"total": end - start, "classes": len(classes)}


# -- listing module names, no import ------------------------------------------

LIST_REPEAT = 15


def list_pair(root, extra):
    """Both sides in this one process, alternating which goes first.

    Listing imports nothing, so neither side changes what the other meets, and
    how fast this particular process happens to run cancels out of the ratio.
    """
    from pike.manager import PikeManager

    mgr = PikeManager([root])

    def pike():
        return list(mgr.get_module_names())

    def floor():
        with os.scandir(root) as it:
            return [e.name[:-3] for e in it if e.name.endswith(".py") and e.is_file()]

    if sorted(pike()) != sorted(floor()):
        raise SystemExit("pike and the floor list different names")
    times = {"pike": [], "floor": []}
    for i in range(LIST_REPEAT):
        for side, func in (("pike", pike), ("floor", floor))[:: 1 if i % 2 else -1]:
            start = time.perf_counter()
            func()
            times[side].append(time.perf_counter() - start)
    mgr.cleanup()
    return {side: statistics.median(values) for side, values in times.items()}


# -- import statements in plugin code --------------------------------------------

STATEMENTS = ("import_os", "from_os", "import_sibling")
STATEMENT_REPEAT = 7


def imports_pair(root, extra):
    """What an import statement costs in an isolated plugin module and in a plain one.

    ``root`` holds two copies of the same modules (`trees.statements`):
    ``plugins``, loaded by ``PikeManager(isolate=True)``, and ``plain``, imported
    from sys.path. Each function of ``bench_statements`` runs an import statement
    EXTRA times in a loop, the modules it names already loaded; both sides run in
    this one process, alternating which goes first, so how fast the process
    happens to run cancels out. Gives nanoseconds per statement, the loop's own
    time (``empty``) taken off: ``pike_<kind>`` and ``floor_<kind>``.
    """
    import builtins

    from pike.manager import PikeManager

    n = int(extra)
    sys.path.insert(0, os.path.join(root, "plain"))
    import bench_statements as plain

    mgr = PikeManager([os.path.join(root, "plugins")], isolate=True)
    mgr.get_classes()
    [plugin] = [m for m in mgr.get_modules() if mgr.entry_of(m).name == "bench_statements"]
    isolated = plugin.empty.__builtins__ is not builtins.__dict__
    if not isolated or plugin.sibling is plain.sibling or plain.sibling.__name__ != "sibling":
        raise SystemExit("the plugin module is not isolated, or its sibling is not its own")
    sides = (("pike", plugin), ("floor", plain))
    per_run = {}
    for kind in ("empty", *STATEMENTS):
        for _side, module in sides:  # warm up
            getattr(module, kind)(min(n, 1000))
        times = {"pike": [], "floor": []}
        for i in range(STATEMENT_REPEAT):
            for side, module in sides[:: 1 if i % 2 else -1]:
                times[side].append(getattr(module, kind)(n))
        for side, values in times.items():
            per_run[side, kind] = statistics.median(values) / n
    mgr.cleanup()
    return {
        f"{side}_{kind}": per_run[side, kind] - per_run[side, "empty"]
        for side, _module in sides
        for kind in STATEMENTS
    }


# -- static listing vs parsing --------------------------------------------------------


def static_pike(root, extra):
    """Static listing; EXTRA ``cold`` turns the index off (everything is parsed),
    ``every`` looks at every class of the listing too."""
    if extra == "cold":
        os.environ["PIKE_CACHE_DIR"] = "off"
    from pike.discovery import static

    start = time.perf_counter()
    listing = static.list_classes([root])
    if extra == "every":
        count = sum(1 for cls in listing.classes if cls.name)
    else:
        count = len(listing.classes)
    return {"total": time.perf_counter() - start, "classes": count}


def _module_files(root):
    """Every module file under ``root``, from the list the runner wrote beside the tree.

    Read from that list rather than from the folders, so the floor finds the
    filesystem as pike does: no walk of the folders just before its stats.
    """
    with open(f"{root}.files", encoding="utf-8") as f:
        return f.read().split("\n")


def static_stats(root, extra):
    """The least a listing that trusts no file can do: one stat of each file."""
    files = _module_files(root)
    stat = os.stat
    start = time.perf_counter()
    for path in files:
        stat(path)
    return {"total": time.perf_counter() - start, "files": len(files)}


def static_floor(root, extra):
    import ast

    start = time.perf_counter()
    trees = 0
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d != "__pycache__"]
        for filename in filenames:
            if filename.endswith(".py"):
                with open(os.path.join(dirpath, filename), "rb") as f:
                    ast.parse(f.read())
                trees += 1
    return {"total": time.perf_counter() - start, "trees": trees}


# -- picking by what plugins declare --------------------------------------------------


def _empty_cache(extra):
    """EXTRA ``empty``: pike's cache folder a new, empty one (nothing indexed yet)."""
    if extra == "empty":
        import tempfile

        os.environ["PIKE_CACHE_DIR"] = tempfile.mkdtemp(prefix="pike-cache-")


def select_pike(root, extra):
    """A manager made, and the one class declaring the middle module's extension picked
    with ``select``; counts the plugin modules imported (one is expected)."""
    _empty_cache(extra)
    from bench_base import Base

    from pike.manager import PikeManager

    wanted = f".e{len(module_names(root)) // 2}"
    start = time.perf_counter()
    with PikeManager([root]) as mgr:
        found = mgr.select(Base, where=lambda cls: wanted in cls.attrs.get("extensions", ()))
        picked = time.perf_counter()
        imported = sum(1 for name in sys.modules if name.startswith("plugin_"))
        resumed = time.perf_counter()
    end = time.perf_counter() - (resumed - picked)  # the count is not pike's time
    return {"total": end - start, "found": len(found), "imported": imported}


def select_listing(root, extra):
    """Static listing of the folder, what ``select`` reads its candidates from; EXTRA
    ``where`` also keeps its classes that declare the middle module's extension, as
    ``select_pike`` picks (by hand, importing nothing)."""
    _empty_cache(extra)
    from pike.discovery import static

    wanted = f".e{len(module_names(root)) // 2}"
    start = time.perf_counter()
    listing = static.list_classes([root])
    if extra == "where":
        found = [cls for cls in listing.classes if wanted in cls.attrs.get("extensions", ())]
    else:
        found = listing.classes
    return {"total": time.perf_counter() - start, "found": len(found)}


# -- refresh: everything loaded, one file edited ------------------------------------


class _Edit:
    """Edit one module of the tree in the middle (its size changes), and undo it after."""

    def __init__(self, root):
        names = module_names(root)
        self.name = names[len(names) // 2]
        self.path = os.path.join(root, self.name.replace(".", os.sep) + ".py")
        with open(self.path, "rb") as f:
            self.source = f.read()
        self.stamp = os.stat(self.path)

    def apply(self):
        with open(self.path, "ab") as f:
            f.write(b"\nEDITED = True\n")

    def undo(self):
        with open(self.path, "wb") as f:
            f.write(self.source)
        os.utime(self.path, ns=(self.stamp.st_atime_ns, self.stamp.st_mtime_ns))


def refresh_pike(root, extra):
    from pike.manager import PikeManager

    edit = _Edit(root)
    with PikeManager([root]) as mgr:
        mgr.get_classes()
        edit.apply()
        gc.collect()  # a settled heap: what loading left for the collector is not timed
        try:
            start = time.perf_counter()
            report = mgr.refresh()
            refreshed = time.perf_counter()
            classes = mgr.get_classes()
            end = time.perf_counter()
        finally:
            edit.undo()
    if report.changed != [edit.name]:
        raise SystemExit(f"refresh found {report}, not the one edit")
    return {"total": refreshed - start, "with_classes": end - start, "classes": len(classes)}


def refresh_floor(root, extra):
    """By hand: a stat of each file, reloading the changed one, collecting its classes."""
    edit = _Edit(root)
    import_all(root)
    names = module_names(root)
    paths = {name: sys.modules[name].__file__ for name in names}
    stamps = {}
    for name, path in paths.items():
        st = os.stat(path)
        stamps[name] = (st.st_mtime_ns, st.st_size)
    edit.apply()
    gc.collect()  # a settled heap, as for pike
    try:
        start = time.perf_counter()
        classes = []
        for name, path in paths.items():
            st = os.stat(path)
            if (st.st_mtime_ns, st.st_size) != stamps[name]:
                classes.extend(defined_classes(importlib.reload(sys.modules[name])))
        end = time.perf_counter()
    finally:
        edit.undo()
    if len(classes) == 0:
        raise SystemExit("the floor found no edit")
    return {"total": end - start, "classes": len(classes)}


def refresh_one_pike(root, extra):
    """``refresh(paths=[file])`` of the one file edited, with everything loaded."""
    from pike.manager import PikeManager

    edit = _Edit(root)
    with PikeManager([root]) as mgr:
        mgr.get_classes()
        edit.apply()
        gc.collect()
        try:
            start = time.perf_counter()
            report = mgr.refresh(paths=[edit.path])
            end = time.perf_counter()
        finally:
            edit.undo()
    if report.changed != [edit.name]:
        raise SystemExit(f"refresh found {report}, not the one edit")
    return {"total": end - start}


def refresh_one_floor(root, extra):
    """By hand: ``importlib.reload`` of the one module edited, everything imported."""
    edit = _Edit(root)
    import_all(root)
    module = sys.modules[edit.name]
    edit.apply()
    gc.collect()
    try:
        start = time.perf_counter()
        importlib.reload(module)
        end = time.perf_counter()
    finally:
        edit.undo()
    return {"total": end - start}


# -- watching: one file edited again and again, 10,000 loaded ------------------------

WATCH_EDITS = 200


def watch_pike(root, extra):
    """Seconds from each write of one file to the callback that reports it (watchfiles,
    default debounce): every latency, in order."""
    import threading

    from pike.manager import PikeManager

    edit = _Edit(root)
    edits = int(extra) if extra else WATCH_EDITS
    seen = threading.Event()
    arrived = []

    def on_change(report):
        if edit.name in report.changed:
            arrived.append(time.perf_counter())
            seen.set()

    latencies = []
    with PikeManager([root]) as mgr:
        mgr.get_classes()
        try:
            with mgr.watch(on_change, backend="watchfiles"):
                for i in range(edits):
                    seen.clear()
                    start = time.perf_counter()
                    with open(edit.path, "ab") as f:
                        f.write(b"\nEDITED = %d\n" % i)
                    if not seen.wait(10):
                        raise SystemExit(f"edit {i} was not reported within 10 s")
                    latencies.append(arrived[-1] - start)
        finally:
            edit.undo()
    return {"latencies": latencies}


def poll_pike(root, extra):
    """CPU seconds per poll of the polling watcher when nothing changes, against one
    ``refresh()`` that finds nothing, in the same process."""
    from pike.manager import PikeManager

    rounds = int(extra) if extra else 20
    interval = 0.05

    def by_hand():
        start = time.process_time()
        for _ in range(rounds):
            mgr.refresh()
        return (time.process_time() - start) / rounds

    with PikeManager([root]) as mgr:
        mgr.get_classes()
        mgr.refresh()
        before = by_hand()
        with mgr.watch(backend="poll", poll_interval=interval) as watch:
            # One sleep over the window (no wake-ups of this thread to share the
            # processor with the polls), counting the polls made within it.
            time.sleep(2 * interval)
            begun, cpu = watch.rounds, time.process_time()
            time.sleep(rounds * interval * 2)
            polls, spent = watch.rounds - begun, time.process_time() - cpu
        after = by_hand()
    return {"total": spent / max(1, polls), "refresh": (before + after) / 2}


# -- repeated enter/exit cycles -------------------------------------------------

CYCLES = 200


def _cycles(one_cycle):
    # Memory first, apart from time (tracing slows everything down): what the traced
    # heap grew by over the cycles, traced from before the first one, so that what
    # earlier cycles allocated and later ones free counts too.
    tracemalloc.start()
    for _ in range(20):  # warm up allocator pools and caches
        one_cycle()
    gc.collect()
    before = tracemalloc.get_traced_memory()[0]
    for _ in range(CYCLES):
        one_cycle()
    gc.collect()
    growth = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    gc.collect()
    start = time.perf_counter()
    for _ in range(CYCLES):
        one_cycle()
    elapsed = time.perf_counter() - start
    return {"total": elapsed / CYCLES, "heap_growth_kib": growth / 1024}


def cycles_pike(root, extra):
    from pike.manager import PikeManager

    def one_cycle():
        with PikeManager([root]) as mgr:
            mgr.get_classes()

    return _cycles(one_cycle)


def cycles_floor(root, extra):
    names = module_names(root)

    def one_cycle():
        import_all(root)
        sys.path.remove(root)
        for name in names:
            sys.modules.pop(name, None)
        sys.path_importer_cache.pop(root, None)

    return _cycles(one_cycle)


# -- named plugins over installed distributions -------------------------------

NAMED_GROUP = "bench.named"


def _named_setup(root, extra):
    """``root`` is a site-packages folder; EXTRA, for stevedore, the folder it is in."""
    sys.path.insert(0, root)
    if extra != "-":
        sys.path.insert(0, extra)


def _timed(work):
    start = time.perf_counter()
    found = work()
    return {"total": time.perf_counter() - start, "plugins": found}


def group_pike(root, extra):
    _named_setup(root, extra)
    from pike.named import ExtensionManager

    return _timed(lambda: len(ExtensionManager(NAMED_GROUP).extensions))


def group_floor(root, extra):
    _named_setup(root, extra)
    from importlib.metadata import entry_points

    return _timed(lambda: len([ep.load() for ep in entry_points(group=NAMED_GROUP)]))


def group_stevedore(root, extra):
    _named_setup(root, extra)
    from stevedore import ExtensionManager

    return _timed(lambda: len(ExtensionManager(NAMED_GROUP).extensions))


def _picked(root):
    """The name to pick: in the middle distribution, the middle entry point."""
    dists = sorted(n for n in os.listdir(root) if n.endswith(".dist-info"))
    middle = len(dists) // 2
    return f"ep_{middle:03d}_050"


def one_pike(root, extra):
    _named_setup(root, extra)
    from pike.named import DriverManager

    name = _picked(root)
    return _timed(lambda: len([DriverManager(NAMED_GROUP, name).driver]))


def one_floor(root, extra):
    _named_setup(root, extra)
    from importlib.metadata import entry_points

    name = _picked(root)

    def work():
        [ep] = [ep for ep in entry_points(group=NAMED_GROUP) if ep.name == name]
        return len([ep.load()])

    return _timed(work)


def one_stevedore(root, extra):
    _named_setup(root, extra)
    from stevedore import DriverManager

    name = _picked(root)
    return _timed(lambda: len([DriverManager(NAMED_GROUP, name).driver]))


# -- one plugin out of a big drop-in folder -------------------------------------


def _middle(root):
    count = sum(1 for n in os.listdir(root) if n.startswith("plugin_"))
    return count // 2


def pick_pike(root, extra):
    from pike.named import DriverManager

    i = _middle(root)
    name = f"plugin_{i:05d}"

    def work():
        return DriverManager("bench.dropin", name, search_paths=[root]).driver.__name__

    return _timed(work)


def pick_floor(root, extra):
    i = _middle(root)

    def work():
        sys.path.insert(0, root)
        module = importlib.import_module(f"plugin_{i:05d}")
        return getattr(module, f"Plugin{i}Reader").__name__

    return _timed(work)


def route_pike(root, extra):
    """The static route: the one subclass of Special, through the index (warm)."""
    from bench_base import Special

    from pike.manager import PikeManager

    start = time.perf_counter()
    with PikeManager([root]) as mgr:
        found = [c.__name__ for c in mgr.find_inherited_classes(Special)]
    return {"total": time.perf_counter() - start, "found": len(found)}


def route_floor(root, extra):
    """By hand, knowing where it is and trusting no file: a stat of each file (as a
    listing that trusts no file must), then import that one module."""
    files = _module_files(root)
    stat = os.stat
    start = time.perf_counter()
    for path in files:
        stat(path)
    sys.path.insert(0, root)
    module = importlib.import_module("the_special")
    return {"total": time.perf_counter() - start, "found": len([module.TheOne])}


def main():
    side, operation, root, base, extra = sys.argv[1:6]
    sys.path.insert(0, REPO)
    sys.path.insert(0, base)
    import bench_base  # noqa: F401  - the host's own base class, loaded before timing

    func = globals()[f"{operation}_{side}"]
    print(json.dumps(func(root, extra)))


if __name__ == "__main__":
    main()
