"""pike's benchmark: pike against the standard library doing the job by hand.

    python benchmarks/run.py            # every scenario; prints medians and ratios
    python benchmarks/run.py --quick    # small trees, one round: checks the suite runs
    python benchmarks/run.py --json out.json

Each measurement is a fresh interpreter (``-E -s``, so no PYTHON* variable leaks
in; ``-B`` where a scenario must not write bytecode), timing only the operation
itself. Sides of a scenario run interleaved, round after round; a time is the
median of its rounds, a ratio the median of each round's ratio. The floor is
``sys.path.insert(0, folder)`` and ``importlib.import_module`` for each module,
keeping the classes each defines. The rows of import statements in plugin code
are nanoseconds per statement, their ratio column pike's extra (budget in ns).
pike 0.2.0 and pluginbase are measured too when pip can install them into a
scratch folder (``--no-compare`` skips them).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import trees

HERE = Path(__file__).resolve().parent
CHILD = HERE / "child.py"
PEERS = {"pike020": "pike==0.2.0", "pluginbase": "pluginbase"}
NAMED_PEERS = {"stevedore": "stevedore"}
IMPORT_PEERS = {"pluggy": "pluggy"}


@dataclass
class Sizes:
    modules: int
    big: int
    listing: int
    cycle_modules: int
    rounds: int
    big_rounds: int
    statements: int  # how many times each import statement runs in a timed loop


FULL = Sizes(
    modules=1000,
    big=10_000,
    listing=10_000,
    cycle_modules=50,
    rounds=21,
    big_rounds=21,
    statements=100_000,
)
QUICK = Sizes(
    modules=40, big=200, listing=300, cycle_modules=5, rounds=1, big_rounds=1, statements=2_000
)


@dataclass
class Row:
    """One scenario. For ``unit`` ``"ns"`` (import statements) ``pike`` and ``floor`` are
    nanoseconds per statement and ``ratio`` is not a ratio but pike's extra, in
    nanoseconds, its budget too."""

    scenario: str
    what: str
    pike: float | None
    floor: float | None
    ratio: float
    budget: float | None
    unit: str = "s"
    peers: dict[str, float] = field(default_factory=dict)

    @property
    def within(self) -> bool | None:
        return None if self.budget is None else self.ratio <= self.budget


#: The sizes a round's environment padding is drawn from (`measure`): past a page.
PAD_RANGE = 8192


def round_pads(rounds: int) -> list[int]:
    """Each round's environment padding (`run_child`'s ``pad``; `measure` says why), seeded
    by the number of rounds: the same sizes in every run of the benchmark."""
    draw = random.Random(rounds)
    return [draw.randrange(PAD_RANGE) for _ in range(rounds)]


def run_child(
    side: str,
    operation: str,
    root: Path,
    base: Path,
    *,
    extra: str = "-",
    no_bytecode: bool = False,
    pad: int = 0,
) -> dict[str, float]:
    """One child's measurement. ``pad`` is the length of a variable of no meaning added to
    its environment (`measure` varies it from round to round)."""
    flags = ["-E", "-s"] + (["-B"] if no_bytecode else [])
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONHASHSEED": "0"}
    env["PIKE_CACHE_DIR"] = str(root.parent / "cache")  # the index and entry-point cache
    env["PIKE_BENCHMARK_PAD"] = "x" * pad
    result = subprocess.run(
        [sys.executable, *flags, str(CHILD), side, operation, str(root), str(base), extra],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if result.returncode != 0:
        raise SystemExit(f"benchmark child {side} {operation} failed:\n{result.stderr}")
    data: dict[str, float] = json.loads(result.stdout)
    return data


def measure(
    sides: dict[str, str],
    operation: str,
    root: Path,
    base: Path,
    *,
    rounds: int,
    no_bytecode: bool = False,
    before_each: Callable[[], None] | None = None,
    floor_side: str = "floor",
) -> dict[str, list[dict[str, float]]]:
    """Run every side ``rounds`` times, interleaved, rotating who goes first.

    ``floor_side`` is the child side that plays the floor (its samples are filed
    under ``floor``). Each round gives its children an environment of another size, the
    same for every side: where a process's stack and heap begin moves with it, and that
    alone moves a run's time by a few percent, the same way in every run (the sides'
    arguments differ in length, so without it one side would be placed better than the
    other in every round).
    """
    names = list(sides)
    samples: dict[str, list[dict[str, float]]] = {name: [] for name in names}
    for r, pad in enumerate(round_pads(rounds)):
        order = names[r % len(names) :] + names[: r % len(names)]
        for name in order:
            if before_each is not None:
                before_each()
            side = floor_side if name == "floor" else name
            samples[name].append(
                run_child(
                    side,
                    operation,
                    root,
                    base,
                    extra=sides[name],
                    no_bytecode=no_bytecode,
                    pad=pad,
                )
            )
    return samples


def median(samples: list[dict[str, float]], key: str = "total") -> float:
    return statistics.median(s[key] for s in samples)


def paired_ratio(
    samples: dict[str, list[dict[str, float]]], side: str = "pike", floor: str = "floor"
) -> float:
    """Median over rounds of side/floor, each round's two runs back to back.

    Pairing cancels slow drifts of the machine (frequency, caches, neighbours)
    that a ratio of two medians would pick up.
    """
    return statistics.median(
        a["total"] / b["total"] for a, b in zip(samples[side], samples[floor], strict=True)
    )


def versus_floor(
    scenario: str,
    what: str,
    samples: dict[str, list[dict[str, float]]],
    budget: float | None,
    peers: Iterable[str] = (),
) -> Row:
    """A row comparing pike (and any peers) with the floor in ``samples``."""
    return Row(
        scenario,
        what,
        median(samples["pike"]),
        median(samples["floor"]),
        paired_ratio(samples),
        budget,
        peers={p: paired_ratio(samples, p) for p in peers},
    )


def install_peers(scratch: Path, peers: dict[str, str] = PEERS) -> dict[str, str]:
    """Install the peers into scratch folders; return those that work."""
    found = {}
    for side, requirement in peers.items():
        target = scratch / "peers" / side
        if not (target / ".installed").exists():
            result = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--no-deps",
                    "--disable-pip-version-check",
                    "--target",
                    str(target),
                    requirement,
                ],
                capture_output=True,
                text=True,
                check=False,
            )
            if result.returncode != 0:
                print(f"(skipping {side}: pip could not install {requirement})", file=sys.stderr)
                continue
            (target / ".installed").write_text(requirement)
        found[side] = str(target)
    return found


def growth_rows(sizes: Sizes, flat: Path, big: Path, base: Path, budget: float | None) -> list[Row]:
    """How pike's time grows from the small to the big flat tree, against the floor's."""
    # 1,000 and 10,000 modules back to back in each round, paired like the rest;
    # both warm (the cold scenario above removed the small tree's bytecode). The
    # floor's own growth is measured alike, for comparison, and so is the floor's
    # with the collector paused while importing (as pike does): how importing
    # alone grows on this machine. Rounds rotate the sides and alternate which
    # size goes first, so neither gains from the machine's drifts.
    run_child("pike", "load", flat, base)
    grown = {side: {"small": [], "big": []} for side in ("pike", "floor", "paused")}
    sides = list(grown)
    for r, pad in enumerate(round_pads(sizes.big_rounds)):
        sizes_first = ("small", "big") if r % 2 == 0 else ("big", "small")
        for side in sides[r % 3 :] + sides[: r % 3]:
            for which in sizes_first:
                tree = flat if which == "small" else big
                grown[side][which].append(run_child(side, "load", tree, base, pad=pad))
    growth = {side: paired_ratio(runs, "big", "small") for side, runs in grown.items()}
    # pike's growth at most 1.05x the floor's own growth in the same run.
    n = sizes.modules
    return [
        Row(
            f"growth {n} -> {sizes.big}",
            f"pike's growth / the floor's (time at {sizes.big} modules / time at {n})",
            growth["pike"],
            growth["floor"],
            growth["pike"] / growth["floor"],
            budget,
            unit="x",
        ),
        Row(
            "growth, paused floor",
            "the floor with the collector paused while importing: importing alone",
            None,
            growth["paused"],
            growth["paused"],
            None,
            unit="x",
        ),
    ]


def named_rows(
    sizes: Sizes,
    scratch: Path,
    base: Path,
    compare: bool,
    budget: Callable[[float], float | None],
) -> list[Row]:
    """pike.named over installed distributions against importlib.metadata by hand.

    stevedore is measured too when pip can install it; its own entry-point
    cache (in the user's cache folder) is warm after its first run, as it is
    for a program started twice.
    """
    dists, per_dist = (20, 100) if sizes == FULL else (4, 100)
    site = trees.installed(scratch, dists, per_dist)
    peers = install_peers(scratch, NAMED_PEERS) if compare else {}
    sides = {"pike": "-", "floor": "-", **peers}
    for side, extra in sides.items():  # bytecode written, caches warm
        run_child(side, "group", site, base, extra=extra)
    rows = []
    total = dists * per_dist
    group = measure(sides, "group", site, base, rounds=sizes.rounds)
    what = "ExtensionManager(group) vs entry_points(group=) + load() each"
    rows.append(versus_floor(f"named group of {total}", what, group, budget(1.2), peers))
    one = measure(sides, "one", site, base, rounds=sizes.rounds)
    what = "DriverManager(group, name) vs entry_points(group=), pick, load()"
    rows.append(versus_floor(f"named one of {total}", what, one, budget(1.3), peers))
    return rows


def index_rows(
    sizes: Sizes, scratch: Path, base: Path, budget: Callable[[float], float | None]
) -> list[Row]:
    """One plugin out of a big drop-in folder, and warm static listing."""
    big = trees.drop_in(scratch, sizes.big)
    trees.write_file_list(big)
    two = {"pike": "-", "floor": "-"}
    rounds = max(3, sizes.big_rounds // 2)
    rows = []
    for side in two:  # bytecode, and the index, written
        run_child(side, "pick", big, base)
        run_child(side, "route", big, base)
    run_child("pike", "static", big, base)
    picked = measure(two, "pick", big, base, rounds=sizes.rounds)
    what = "DriverManager(search_paths=[folder]) vs sys.path.insert + import_module of it"
    rows.append(versus_floor(f"one of {sizes.big} by name", what, picked, budget(1.5)))
    routed = measure(two, "route", big, base, rounds=sizes.rounds)
    what = "find_inherited_classes(Special), index warm, vs a stat of each file + that import"
    rows.append(versus_floor(f"one of {sizes.big}, static route", what, routed, budget(1.3)))
    # The least a listing that trusts no file can do is to stat each file.
    stats = {"pike": "-", "floor": "-"}
    warm = measure(stats, "static", big, base, rounds=rounds, floor_side="stats")
    what = "static.list_classes(), index warm, vs a stat of each file"
    rows.append(versus_floor(f"warm listing {sizes.big}", what, warm, budget(1.3)))
    every = measure(
        {"pike": "every", "floor": "-"}, "static", big, base, rounds=rounds, floor_side="stats"
    )
    what = "the same, and every class of the listing looked at"
    rows.append(versus_floor(f"warm listing {sizes.big}, every class", what, every, None))
    return rows


def select_rows(
    sizes: Sizes, scratch: Path, base: Path, budget: Callable[[float], float | None]
) -> list[Row]:
    """One class picked by its declared ``extensions`` out of a big folder (one module
    imported), against a static listing of that folder: warm, against the listing with
    the same ``where`` applied to its classes by hand (each class's record made and
    looked at, as ``select`` must) and against the listing alone (which makes no record
    until one is looked at); and with an empty cache folder (every file parsed by both
    sides), against the listing alone."""
    root = trees.extensions(scratch, sizes.big)
    trees.settled(root)  # the files' states trusted, so the index keeps them all
    for side in ("pike", "listing"):  # bytecode and the index written
        run_child(side, "select", root, base)
    rows = []
    for scenario, sides, rounds, limit in (
        (
            f"select one of {sizes.big}, warm",
            {"pike": "-", "floor": "where"},
            sizes.big_rounds,
            1.15,
        ),
        (
            f"select one of {sizes.big}, warm, vs listing",
            {"pike": "-", "floor": "-"},
            max(3, sizes.big_rounds // 2),
            None,
        ),
        (
            f"select one of {sizes.big}, empty cache",
            {"pike": "empty", "floor": "empty"},
            max(3, sizes.rounds // 4),
            1.2,
        ),
    ):
        samples = measure(sides, "select", root, base, rounds=rounds, floor_side="listing")
        for run in samples["pike"]:
            if (run["found"], run["imported"]) != (1, 1):
                raise SystemExit(f"{scenario}: found {run['found']}, imported {run['imported']}")
        what = "PikeManager + select(Base, where=extension), vs static.list_classes()"
        if sides["floor"] == "where":
            what += " filtered by that where"
        rows.append(versus_floor(scenario, what, samples, None if limit is None else budget(limit)))
    return rows


def option_row(
    scenario: str,
    what: str,
    sizes: Sizes,
    root: Path,
    base: Path,
    *,
    options: tuple[str, str],
    budget: float | None,
    parsed: bool | None = None,
) -> Row:
    """``root`` loaded by pike with ``options[0]`` (`child.load_pike`'s EXTRA) against
    pike with ``options[1]``, warm: both sides are pike, the second plays the floor.

    Each side runs once untimed first (bytecode written, and what pike keeps in its
    cache folder). Both must find the same classes and issue no warning; ``parsed``,
    if given, is whether pike's side may parse a module's source (``ast`` imported).
    """
    for extra in options:
        run_child("pike", "load", root, base, extra=extra)
    sides = {"pike": options[0], "floor": options[1]}
    samples = measure(sides, "load", root, base, rounds=sizes.rounds, floor_side="pike")
    found = {s["classes"] for runs in samples.values() for s in runs}
    if len(found) != 1:
        raise SystemExit(
            f"{scenario}: {options[0]} and {options[1]} found different classes: {found}"
        )
    warned = sum(s["warnings"] for runs in samples.values() for s in runs)
    if warned:
        raise SystemExit(f"{scenario}: pike issued {warned} warnings, where none was expected")
    if parsed is not None and any(s["parsed"] != parsed for s in samples["pike"]):
        said = "parsed no" if parsed else "parsed"
        raise SystemExit(f"{scenario}: a warm run of {options[0]} {said} module source")
    return versus_floor(scenario, what, samples, budget)


def conforms_row(sizes: Sizes, flat: Path, base: Path, budget: float | None) -> Row:
    """The flat tree's first ``get_classes()`` with ``conforms=`` a Protocol every class
    meets, against none, warm (imports included)."""
    what = "PikeManager([folder]) + get_classes(conforms=Runs), warm, vs no conforms"
    options = ("conforms", "-")
    return option_row(
        f"conforms {sizes.modules}", what, sizes, flat, base, options=options, budget=budget
    )


def isolate_row(sizes: Sizes, flat: Path, base: Path, budget: float | None) -> Row:
    """The flat tree loaded with ``isolate=True`` against pike's default, warm.

    Both sides are pike; ``isolate=False`` plays the floor.
    """
    what = "PikeManager([folder], isolate=True) + get_classes(), warm, vs isolate=False"
    return option_row(
        f"isolate {sizes.modules}", what, sizes, flat, base, options=("isolate", "-"), budget=budget
    )


def quarantine_row(sizes: Sizes, flat: Path, base: Path, budget: float | None) -> Row:
    """The flat tree loaded with ``quarantine=True`` against ``quarantine=False`` (pike's
    default), warm: this process's note in pike's cache folder written as each plugin
    module begins and ends, and the notes of the processes before looked at."""
    what = "PikeManager([folder], quarantine=True) + get_classes(), warm, vs quarantine=False"
    options = ("quarantine", "-")
    return option_row(
        f"quarantine {sizes.modules}", what, sizes, flat, base, options=options, budget=budget
    )


def requires_row(sizes: Sizes, scratch: Path, base: Path, budget: float | None) -> Row:
    """The flat tree's modules, each declaring ``__version__`` and a ``__requires__`` this
    host meets (`trees.declaring`), loaded with ``host=`` and ``requires="warn"`` (pike's
    default) against ``requires="ignore"``, warm: what each module declares is in pike's
    cache (written by the untimed run), so no source is parsed."""
    root = trees.declaring(scratch, sizes.modules)
    trees.settled(root)  # its states trusted from the first run, so it keeps them all
    what = 'PikeManager([folder], host=...) + get_classes(), warm, vs requires="ignore"'
    options = ("host", "host,ignore")
    return option_row(
        f"requires {sizes.modules}",
        what,
        sizes,
        root,
        base,
        options=options,
        budget=budget,
        parsed=False,
    )


def archive_row(sizes: Sizes, scratch: Path, flat: Path, base: Path, budget: float | None) -> Row:
    """The flat tree's modules loaded from one archive (``isolate=True``), warm: pike's
    cache holds their compiled code; against the flat folder with its ``__pycache__``
    (pike's default)."""
    root = trees.archive(scratch, sizes.modules)
    for side_root, extra in ((root, "isolate"), (flat, "-")):  # code cached, bytecode written
        run_child("pike", "load", side_root, base, extra=extra)
    samples: dict[str, list[dict[str, float]]] = {"pike": [], "floor": []}
    for r, pad in enumerate(round_pads(sizes.rounds)):
        order = [("pike", root, "isolate"), ("floor", flat, "-")]
        for name, side_root, extra in order[r % 2 :] + order[: r % 2]:
            samples[name].append(run_child("pike", "load", side_root, base, extra=extra, pad=pad))
    found = {s["classes"] for runs in samples.values() for s in runs}
    if len(found) != 1:
        raise SystemExit(f"the archive and the folder gave different classes: {found}")
    what = "PikeManager([folder with plugins.zip], isolate=True), warm, vs the folder itself"
    return versus_floor(f"archive {sizes.modules}, warm", what, samples, budget)


STATEMENT_KINDS = {
    "import_os": "import os",
    "from_os": "from os import path",
    "import_sibling": "import sibling",
}


def statement_rows(sizes: Sizes, scratch: Path, base: Path, budget: float | None) -> list[Row]:
    """An import statement in an isolated plugin module against the same statement in a
    plain module (sys.path), of modules already loaded: nanoseconds per statement.

    ``sibling`` is the other module of the plugin's folder (the plain module's, of
    its own). Each round is one process timing both sides (`child.imports_pair`);
    the extra is the median over rounds of each round's difference.
    """
    root = trees.statements(scratch)
    extra = str(sizes.statements)
    run_child("pair", "imports", root, base, extra=extra)  # bytecode written
    runs = [
        run_child("pair", "imports", root, base, extra=extra)
        for _ in range(max(1, sizes.rounds // 3))
    ]
    rows = []
    for kind, statement in STATEMENT_KINDS.items():
        pike = [run[f"pike_{kind}"] for run in runs]
        floor = [run[f"floor_{kind}"] for run in runs]
        what = "ns per statement, isolated plugin vs plain module; ratio column: the extra"
        rows.append(
            Row(
                f"{statement} in plugin code",
                what,
                statistics.median(pike),
                statistics.median(floor),
                statistics.median(p - f for p, f in zip(pike, floor, strict=True)),
                budget,
                unit="ns",
            )
        )
    return rows


def import_cost(module: str, path: str) -> float:
    """Seconds ``import module`` takes in a bare interpreter (-S -E), bytecode cached."""
    code = (
        "import sys, time; sys.path.insert(0, sys.argv[1]); t = time.perf_counter(); "
        f"import {module}; print(time.perf_counter() - t)"
    )
    result = subprocess.run(
        [sys.executable, "-S", "-E", "-c", code, path],
        capture_output=True,
        text=True,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
        check=False,
    )
    if result.returncode != 0:
        raise SystemExit(f"import {module} failed:\n{result.stderr}")
    return float(result.stdout)


def import_row(scratch: Path, compare: bool, budget: Callable[[float], float | None]) -> Row:
    """``import pike.manager`` against ``import pluggy``, when pluggy installs."""
    peers = install_peers(scratch, IMPORT_PEERS) if compare else {}
    repo = str(HERE.parent)
    if "pluggy" not in peers:
        cost = statistics.median(import_cost("pike.manager", repo) for _ in range(5))
        return Row("import pike.manager", "-S, bytecode cached", cost, None, 0.0, None)
    import_cost("pike.manager", repo)  # bytecode written
    import_cost("pluggy", peers["pluggy"])
    pike_times, pluggy_times, ratios = [], [], []
    for _ in range(21):
        a, b = import_cost("pike.manager", repo), import_cost("pluggy", peers["pluggy"])
        pike_times.append(a)
        pluggy_times.append(b)
        ratios.append(a / b)
    what = "-S, bytecode cached, vs import pluggy (the floor column)"
    return Row(
        "import pike.manager",
        what,
        statistics.median(pike_times),
        statistics.median(pluggy_times),
        statistics.median(ratios),
        budget(1.0),
    )


def refresh_rows(
    sizes: Sizes, big: Path, base: Path, budget: Callable[[float], float | None]
) -> list[Row]:
    """Refresh of a big folder after one edit: the floor stats every file and reloads
    the one that changed; and of that one file only, against ``importlib.reload``."""
    two = {"pike": "-", "floor": "-"}
    rounds = max(3, sizes.big_rounds // 2)
    fresh = measure(two, "refresh", big, base, rounds=rounds)
    what = f"refresh() of {sizes.big} loaded modules, one edited; vs a stat each + reload"
    rows = [versus_floor(f"refresh {sizes.big}, one edit", what, fresh, budget(1.15))]
    one = measure(two, "refresh_one", big, base, rounds=rounds)
    what = f"refresh(paths=[file]) with {sizes.big} loaded, that file edited; vs importlib.reload"
    rows.append(versus_floor(f"refresh {sizes.big}, paths=[one]", what, one, budget(2.0)))
    rows.extend(watch_rows(sizes, big, base, budget))
    return rows


def watch_rows(
    sizes: Sizes, big: Path, base: Path, budget: Callable[[float], float | None]
) -> list[Row]:
    """The watcher over ``big`` loaded: from a write to its report (watchfiles, default
    debounce, one process of `child.WATCH_EDITS` edits: median and 99th percentile, in
    ms); and the polling watcher's CPU per poll when nothing changed against
    ``refresh()``'s, in the same processes."""
    edits = 200 if sizes == FULL else 10
    latencies = run_child("pike", "watch", big, base, extra=str(edits))["latencies"]
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, round(0.99 * (len(latencies) - 1)))]
    median_ms = statistics.median(latencies) * 1000
    what = f"mgr.watch(), {sizes.big} loaded, a write to the callback; {edits} edits"
    rows = [
        Row(f"watch {sizes.big}, median", what, None, None, median_ms, budget(20.0), unit="ms"),
        Row(f"watch {sizes.big}, p99", what, None, None, p99 * 1000, budget(100.0), unit="ms"),
    ]
    polls = [run_child("pike", "poll", big, base, extra="10") for _ in range(3)]
    pike = statistics.median(p["total"] for p in polls)
    floor = statistics.median(p["refresh"] for p in polls)
    what = "CPU per poll of watch(backend='poll'), nothing changed; vs refresh()"
    rows.append(Row(f"poll {sizes.big}", what, pike, floor, pike / floor, budget(1.1)))
    return rows


def run(sizes: Sizes, scratch: Path, compare: bool) -> list[Row]:
    # pike's cache (the index, the entry points) is made afresh by the untimed runs:
    # one left by another version of the code would be measured instead of this one's.
    shutil.rmtree(scratch / "cache", ignore_errors=True)
    base = trees.base_folder(scratch)
    flat = trees.flat(scratch, sizes.modules)
    nested = trees.nested(scratch, sizes.modules)
    big = trees.flat(scratch, sizes.big)
    listing = trees.listing(scratch, sizes.listing)
    small = trees.flat(scratch, sizes.cycle_modules)
    peers = install_peers(scratch) if compare else {}
    two = {"pike": "-", "floor": "-"}
    rows = []
    n = sizes.modules
    # The budgets are set for the full sizes; quick runs only exercise the suite.
    full = sizes == FULL

    def budget(value: float) -> float | None:
        return value if full else None

    # Warm: bytecode caches exist (one untimed run of each side writes them).
    for side in two:
        run_child(side, "load", flat, base)
        run_child(side, "load", nested, base)
    run_child("pike", "load", big, base)
    warm = measure({**two, **peers}, "load", flat, base, rounds=sizes.rounds)
    what = "enter + get_classes() + exit, bytecode cached"
    rows.append(versus_floor(f"flat {n}, warm", what, warm, budget(1.05), peers))

    def cold_start() -> None:
        trees.drop_bytecode(flat)

    cold = measure(
        {**two, **peers},
        "load",
        flat,
        base,
        rounds=sizes.rounds,
        no_bytecode=True,
        before_each=cold_start,
    )
    what = "the same, no __pycache__ (first run; -B)"
    rows.append(versus_floor(f"flat {n}, cold", what, cold, budget(1.05), peers))

    deep = measure(two, "load", nested, base, rounds=sizes.rounds)
    what = "the same, modules three packages deep"
    rows.append(versus_floor(f"nested {n}, warm", what, deep, budget(1.05)))

    # Listing imports nothing, so each round's process times both sides,
    # alternating: the speed of one process (±20% from one to the next here)
    # cancels out of its ratio.
    listed: dict[str, list[dict[str, float]]] = {"pike": [], "floor": []}
    for _ in range(sizes.rounds):
        pair = run_child("pair", "list", listing, base)
        for side, samples in listed.items():
            samples.append({"total": pair[side]})
    what = "get_module_names() vs an os.scandir walk"
    rows.append(versus_floor(f"listing {sizes.listing}", what, listed, budget(1.5)))

    parsed = measure(
        {"pike": "cold", "floor": "-"}, "static", nested, base, rounds=max(3, sizes.rounds // 3)
    )
    what = "static.list_classes(), index off, vs ast.parse of the same files"
    rows.append(versus_floor(f"static {n}", what, parsed, None))

    exit_cost = median(warm["pike"], "exit")
    rows.append(
        Row(
            f"exit after {n}",
            "leaving the block, as a share of discovery",
            exit_cost,
            None,
            exit_cost / median(warm["pike"], "discover"),
            budget(0.05),
        )
    )

    rows.extend(growth_rows(sizes, flat, big, base, budget(1.05)))

    rows.extend(refresh_rows(sizes, big, base, budget))

    rows.extend(named_rows(sizes, scratch, base, compare, budget))
    rows.extend(index_rows(sizes, scratch, base, budget))
    rows.extend(select_rows(sizes, scratch, base, budget))
    rows.append(import_row(scratch, compare, budget))

    cycles = measure(two, "cycles", small, base, rounds=max(1, sizes.rounds // 3))
    what = "one enter/get_classes/exit cycle (200 in a row)"
    rows.append(versus_floor(f"cycles of {sizes.cycle_modules}", what, cycles, None))
    rows.append(
        Row(
            "cycles memory",
            "Python heap growth over 200 more cycles (tracemalloc)",
            median(cycles["pike"], "heap_growth_kib"),
            median(cycles["floor"], "heap_growth_kib"),
            0.0,
            None,
            unit="KiB",
        )
    )

    rows.extend(isolation_rows(sizes, scratch, flat, base, budget))
    return rows


def isolation_rows(
    sizes: Sizes,
    scratch: Path,
    flat: Path,
    base: Path,
    budget: Callable[[float], float | None],
) -> list[Row]:
    """Contracts checked at load, loading under private names, with quarantine, with
    requirements checked, from an archive, and import statements in plugin code."""
    return [
        conforms_row(sizes, flat, base, budget(1.05)),
        isolate_row(sizes, flat, base, budget(1.05)),
        quarantine_row(sizes, flat, base, budget(1.05)),
        requires_row(sizes, scratch, base, budget(1.05)),
        archive_row(sizes, scratch, flat, base, budget(1.3)),
        *statement_rows(sizes, scratch, base, budget(300)),
    ]


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "x":
        return f"{value:.2f}x"
    if unit == "KiB":
        return f"{value:.0f} KiB"
    if unit == "ns":
        return f"{value:.0f} ns"
    return f"{value * 1000:.2f} ms"


def render(rows: list[Row]) -> str:
    peers = sorted({p for row in rows for p in row.peers})
    header = ["scenario", "pike", "floor", "ratio", "budget", *peers]
    lines = []
    for row in rows:
        budget = "-" if row.budget is None else f"<= {row.budget:g}"
        if row.unit == "ns":  # the extra, not a ratio
            budget = "-" if row.budget is None else f"<= +{row.budget:g} ns"
        if row.within is False:
            budget += " OVER"
        ratio = "-" if row.unit == "KiB" else f"{row.ratio:.3f}"
        if row.unit == "ns":
            ratio = f"{row.ratio:+.0f} ns"
        if row.unit == "ms":  # a latency: the ratio column holds it, its budget too
            ratio = f"{row.ratio:.1f} ms"
            budget = "-" if row.budget is None else f"<= {row.budget:g} ms"
            if row.within is False:
                budget += " OVER"
        cells = [row.scenario, _fmt(row.pike, row.unit), _fmt(row.floor, row.unit), ratio, budget]
        cells += [f"{row.peers[p]:.2f}x" if p in row.peers else "-" for p in peers]
        lines.append(cells)
    widths = [max(len(str(c)) for c in col) for col in zip(header, *lines, strict=True)]
    out = [
        "  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
        for row in [header, *lines]
    ]
    if peers:
        out.append(f"({', '.join(peers)}: their time as a multiple of the floor)")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small trees, one round")
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    parser.add_argument("--no-compare", action="store_true", help="skip pike 0.2.0, pluginbase")
    parser.add_argument("--scratch", metavar="DIR", help="where trees are generated")
    parser.add_argument("--strict", action="store_true", help="exit 1 if a ratio is over budget")
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    scratch = Path(args.scratch or Path(tempfile.gettempdir()) / "pike-benchmark")
    scratch.mkdir(parents=True, exist_ok=True)
    rows = run(sizes, scratch, compare=not (args.no_compare or args.quick))
    print(
        f"python {sys.version.split()[0]}, {os.cpu_count()} cpus; {sizes.rounds} interleaved "
        "rounds, each run a fresh process; times are medians, ratios the median of "
        "each round's ratio"
    )
    print(render(rows))
    if args.json:
        Path(args.json).write_text(json.dumps([row.__dict__ for row in rows], indent=2))
    over = [row.scenario for row in rows if row.within is False]
    if over and not args.quick:
        print(f"over budget: {', '.join(over)}")
    return 1 if over and args.strict else 0


if __name__ == "__main__":
    sys.exit(main())
