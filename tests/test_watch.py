"""Watching a living folder (docs/refresh.md, "Watching a folder").

``mgr.watch()`` is armed once ``with`` has entered it; each batch of changes to what
pike tracks (modules, packages, archives: not bytecode caches, editor files or other
files) refreshes what it touched and hands the report to ``on_change``, or to the
iterator ``with`` gives. Both backends are run: ``watchfiles`` (installed by the test
extra) and polling. Plugin errors are in the reports, never raised; a callback that
raises is logged; ``cleanup()`` from any thread, the callback included, stops the
watcher, and no thread or file descriptor of it is left.

No test sleeps to wait for a change: each waits for the report it expects, with a
timeout.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import shutil
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import TextIO

import pytest

from pike import RefreshReport
from pike.errors import InactiveManagerError, PikeTypeError, PikeValueError
from pike.manager import PikeManager
from tests.conftest import MakeTree, run_python

BACKENDS = ["watchfiles", "poll"]
WAIT = 10.0  # seconds a test waits for a report before it fails
POLL = 0.02


def main_until_ctrl_c(argv: list[str], out: TextIO, err: TextIO, user: Callable[[], object]) -> int:
    """``pike.cli.main(argv)`` here, while ``user`` acts in a thread and then presses Ctrl-C
    as a terminal gives it: SIGINT, to the main thread (sent to the process, the kernel may
    hand it to another thread, and a main thread blocked waiting for a report would never
    see it). Pressed again every WAIT seconds, a few times, while main has not returned."""
    import signal

    from pike.cli import main

    returned = threading.Event()

    def press() -> None:
        user()
        for _ in range(3):
            signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGINT)
            if returned.wait(WAIT):
                return

    helper = threading.Thread(target=press)
    helper.start()
    try:
        return main(argv, out=out, err=err)
    finally:
        returned.set()
        helper.join(WAIT)


def watcher_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "pike-watch"]


def open_fds() -> set[str]:
    """What each open file descriptor of this process is (``anon_inode:inotify``...)."""
    found = set()
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):  # the listing's own descriptor, closed by now
            found.add(f"{fd} {os.readlink(f'/proc/self/fd/{fd}')}")
    return found


def fds_left(before: set[str]) -> set[str]:
    """The descriptors open now and not ``before``, once a second has passed at most:
    watchfiles closes its notifier's descriptors from a thread of its own, moments
    after it is told to stop (the promise is "within a second")."""
    deadline = time.monotonic() + 1.0
    while (left := open_fds() - before) and time.monotonic() < deadline:
        time.sleep(0.005)
    return left


@pytest.fixture(autouse=True)
def nothing_left() -> Iterator[None]:
    """No watcher thread before or after a test (each is given a second to end)."""
    assert watcher_threads() == []
    yield
    for thread in watcher_threads():
        thread.join(WAIT)
    assert watcher_threads() == []


class Reports:
    """An ``on_change`` that keeps each report for the test to wait for."""

    def __init__(self) -> None:
        self.queue: queue.Queue[RefreshReport] = queue.Queue()

    def __call__(self, report: RefreshReport) -> None:
        self.queue.put(report)

    def next(self) -> RefreshReport:
        return self.queue.get(timeout=WAIT)

    def until(self, done: Callable[[RefreshReport], bool]) -> RefreshReport:
        """The first report ``done`` accepts (a save may come as two batches)."""
        while True:
            report = self.next()
            if done(report):
                return report


def names(mgr: PikeManager) -> list[str]:
    return sorted(c.__qualname__ for c in mgr.get_classes())


def watching(mgr: PikeManager, backend: str, on_change: object = None) -> object:
    return mgr.watch(on_change, backend=backend, poll_interval=POLL)  # type: ignore[arg-type]


@pytest.mark.parametrize("backend", BACKENDS)
def test_edits_adds_removes_and_renames_are_applied_as_they_happen(
    make_tree: MakeTree, backend: str
) -> None:
    root = make_tree({"a.py": "class A: pass\n", "pkg/__init__.py": "class P: pass\n"})
    reports = Reports()
    with PikeManager([root]) as mgr:
        assert names(mgr) == ["A", "P"]
        with watching(mgr, backend, reports):
            (root / "a.py").write_text("class A: pass\nclass B: pass\n")
            assert reports.until(lambda r: r.changed == ["a"]).errors == []
            assert names(mgr) == ["A", "B", "P"]
            (root / "c.py").write_text("class C: pass\n")
            assert reports.until(lambda r: "c" in r.added)
            (root / "c.py").rename(root / "d.py")
            reports.until(lambda r: "d" in r.added and "c" in r.removed)
            (root / "d.py").unlink()
            reports.until(lambda r: r.removed == ["d"])
            shutil.rmtree(root / "pkg")  # a package turned into a module
            (root / "pkg.py").write_text("class M: pass\n")
            reports.until(lambda r: "pkg" in r.changed or "pkg" in r.added)
            assert names(mgr) == ["A", "B", "M"]
    assert "a" not in sys.modules and "pkg" not in sys.modules


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_broken_edit_keeps_the_working_classes_and_never_raises(
    make_tree: MakeTree, backend: str
) -> None:
    root = make_tree({"base.py": "class Base: pass\n", "impl.py": IMPL})
    reports = Reports()
    with PikeManager([root], on_error="raise") as mgr:
        before = mgr.get_classes()
        with watching(mgr, backend, reports):
            (root / "base.py").write_text("class Base(:\n")
            report = reports.next()
            assert (report.changed, sorted(report.kept)) == ([], ["base", "impl"])
            assert report.errors and mgr.get_classes() == before
            (root / "base.py").write_text("class Base: pass\nclass More: pass\n")
            report = reports.until(lambda r: bool(r.changed))
            assert report.changed == ["base", "impl"]  # the dependent runs again with it
            [impl] = [c for c in mgr.get_classes() if c.__name__ == "Impl"]
            assert impl.__mro__[1] is sys.modules["base"].Base


IMPL = "from base import Base\n\n\nclass Impl(Base):\n    pass\n"


@pytest.mark.parametrize("backend", BACKENDS)
def test_bytecode_and_editor_files_are_not_changes(make_tree: MakeTree, backend: str) -> None:
    root = make_tree({"a.py": "class A: pass\n"})
    reports = Reports()
    with PikeManager([root]) as mgr:
        mgr.get_classes()
        with watching(mgr, backend, reports):
            for name in (".a.py.swp", "a.py~", ".#a.py", "notes.txt"):
                (root / name).write_text("x")
            (root / "__pycache__").mkdir(exist_ok=True)
            (root / "__pycache__" / "junk.cpython-311.pyc").write_bytes(b"x")
            (root / "b.py").write_text("class B: pass\n")
            report = reports.next()  # the first report is the module added, nothing else
            assert (report.added, report.changed, report.removed, report.errors) == (
                ["b"],
                [],
                [],
                [],
            )


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_callback_that_raises_is_logged_and_watching_goes_on(
    make_tree: MakeTree, backend: str, caplog: pytest.LogCaptureFixture
) -> None:
    root = make_tree({"a.py": "class A: pass\n"})
    reports = Reports()

    def on_change(report: RefreshReport) -> None:
        reports(report)
        raise RuntimeError("the host's callback failed")

    caplog.set_level(logging.ERROR, logger="pike._watch")
    with PikeManager([root]) as mgr:
        mgr.get_classes()
        with watching(mgr, backend, on_change):
            (root / "b.py").write_text("class B: pass\n")
            reports.until(lambda r: r.added == ["b"])
            (root / "c.py").write_text("class C: pass\n")
            reports.until(lambda r: r.added == ["c"])
    assert "on_change raised" in caplog.text and "the host's callback failed" in caplog.text


def test_two_managers_are_watched_at_once(make_tree: MakeTree) -> None:
    first = make_tree({"one.py": "class One: pass\n"})
    second = make_tree({"two.py": "class Two: pass\n"})
    got_first, got_second = Reports(), Reports()
    with PikeManager([first]) as a, PikeManager([second]) as b:
        a.get_classes()
        b.get_classes()
        with a.watch(got_first, backend="watchfiles"), b.watch(got_second, backend="poll"):
            (second / "two.py").write_text("class Two: pass\nclass Deux: pass\n")
            (first / "one.py").write_text("class One: pass\nclass Un: pass\n")
            assert got_first.until(lambda r: bool(r.changed)).changed == ["one"]
            assert got_second.until(lambda r: bool(r.changed)).changed == ["two"]
            assert names(a) == ["One", "Un"] and names(b) == ["Deux", "Two"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_iterator_ends_when_the_manager_is_cleaned_up_from_another_thread(
    make_tree: MakeTree, backend: str
) -> None:
    root = make_tree({"a.py": "class A: pass\n"})
    seen: list[RefreshReport] = []
    with PikeManager([root]) as mgr:
        mgr.get_classes()
        with watching(mgr, backend) as changes:

            def host() -> None:
                (root / "b.py").write_text("class B: pass\n")

            threading.Thread(target=host).start()
            for report in changes:  # type: ignore[attr-defined]
                seen.append(report)
                if "b" in report.added:
                    threading.Thread(target=mgr.cleanup).start()
    assert any("b" in r.added for r in seen)
    assert not mgr.active


@pytest.mark.parametrize("backend", BACKENDS)
def test_cleanup_from_the_callback_stops_the_watcher(make_tree: MakeTree, backend: str) -> None:
    root = make_tree({"a.py": "class A: pass\n"})
    reports = Reports()
    with PikeManager([root]) as mgr:
        mgr.get_classes()

        def on_change(report: RefreshReport) -> None:
            mgr.cleanup()
            reports(report)

        with watching(mgr, backend, on_change) as watch:
            (root / "b.py").write_text("class B: pass\n")
            assert reports.next().added == ["b"]
            for thread in watcher_threads():
                thread.join(WAIT)
            assert not watch.watching  # type: ignore[attr-defined]
        assert "b" not in sys.modules and "a" not in sys.modules


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc/self/fd")
@pytest.mark.parametrize("backend", BACKENDS)
def test_no_thread_or_file_descriptor_is_left(make_tree: MakeTree, backend: str) -> None:
    root = make_tree({"a.py": "class A: pass\n"})
    with PikeManager([root]) as mgr:
        mgr.get_classes()
        before = open_fds()
        for _ in range(3):
            with watching(mgr, backend):
                assert len(watcher_threads()) == 1
            assert watcher_threads() == []  # stop() waited for it (up to a second)
            assert fds_left(before) == set()


def test_watch_arguments_are_checked(make_tree: MakeTree) -> None:
    root = make_tree({"a.py": "class A: pass\n"})
    with PikeManager([root]) as mgr:
        bad: list[tuple[dict[str, object], type[Exception]]] = [
            ({"on_change": 5}, PikeTypeError),
            ({"debounce": "1"}, PikeTypeError),
            ({"debounce": True}, PikeTypeError),
            ({"debounce": 0}, PikeValueError),
            ({"debounce": float("nan")}, PikeValueError),
            ({"poll_interval": -1}, PikeValueError),
            ({"backend": "inotify"}, PikeValueError),
            ({"backend": None}, PikeTypeError),
        ]
        for kwargs, error in bad:
            with pytest.raises(error):
                mgr.watch(**kwargs)  # type: ignore[arg-type]
        watch = mgr.watch(backend="poll")
        with pytest.raises(PikeValueError, match="on_change"):
            iter(mgr.watch(print, backend="poll"))  # type: ignore[call-overload]
        with watch, pytest.raises(PikeValueError, match="entered already"):
            watch.__enter__()
        with watch_again(mgr), pytest.raises(PikeValueError, match="watched already"):
            mgr.watch(backend="poll")  # a second watch would take half of the changes
    with pytest.raises(InactiveManagerError):
        mgr.watch(backend="poll")


def watch_again(mgr: PikeManager) -> object:
    return mgr.watch(backend="poll")


def test_without_watchfiles_auto_polls_with_a_warning_and_watchfiles_is_refused(
    make_tree: MakeTree,
) -> None:
    root = make_tree({"a.py": "class A: pass\n"})
    code = f"""
        import warnings
        from pike.errors import PikeValueError, PikeWarning
        from pike.manager import PikeManager

        with PikeManager([{str(root)!r}]) as mgr:
            try:
                mgr.watch(backend="watchfiles")
            except PikeValueError as error:
                print("refused:", "pike[watch]" in str(error))
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                watch = mgr.watch()
            print("backend:", watch.backend)
            kinds = [w.category.__name__ for w in caught]
            print("warned:", kinds, "pike[watch]" in str(caught[0].message))
        """
    # -S: no site-packages, where watchfiles is installed; pike comes from the checkout.
    result = run_python(code, "-S")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "refused: True",
        "backend: poll",
        "warned: ['PikeWarning'] True",
    ]


def test_an_isolated_manager_is_watched_in_its_namespaces(make_tree: MakeTree) -> None:
    root = make_tree(
        {
            "NodeA/__init__.py": "from .nodes import Node\n",
            "NodeA/nodes.py": "import utils\n\n\nclass Node:\n    who = utils.WHO\n",
            "NodeA/utils.py": "WHO = 'a'\n",
        }
    )
    reports = Reports()
    with PikeManager([root], isolate=True) as mgr:
        [node] = mgr.get_classes()
        assert node.who == "a"
        with mgr.watch(reports, backend="watchfiles"):
            (root / "NodeA" / "utils.py").write_text("WHO = 'b'\n")
            report = reports.until(lambda r: "NodeA.utils" in r.changed)
            assert "NodeA.nodes" in report.changed
            [node] = mgr.get_classes()
            assert node.who == "b"


def test_a_folder_the_backend_cannot_watch_is_said_when_entering(make_tree: MakeTree) -> None:
    root = make_tree({"a.py": "class A: pass\n"})
    with PikeManager([root]) as mgr:
        mgr.get_classes()
        shutil.rmtree(root)  # gone before watching starts
        with pytest.raises(PikeValueError, match="could not watch"):
            mgr.watch(backend="watchfiles").__enter__()


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_hook_interrupting_a_refresh_is_logged_and_watching_goes_on(
    make_tree: MakeTree, backend: str, caplog: pytest.LogCaptureFixture
) -> None:
    hook = "V = 1\n\n\ndef __pike_load__():\n    if V == 2:\n        raise KeyboardInterrupt\n"
    root = make_tree({"a.py": hook, "b.py": "V = 1\n"})
    reports = Reports()
    caplog.set_level(logging.ERROR, logger="pike._watch")
    with PikeManager([root]) as mgr:
        mgr.get_classes()
        with watching(mgr, backend, reports) as watch:
            (root / "a.py").write_text(hook.replace("V = 1", "V = 2"))
            deadline = time.monotonic() + WAIT  # the interrupted refresh is logged
            while "a refresh while watching failed" not in caplog.text:
                assert time.monotonic() < deadline, "the interrupted refresh was not logged"
                time.sleep(0.005)
            (root / "b.py").write_text("V = 2\n")
            reports.until(lambda r: "b" in r.changed)
            assert watch.watching  # type: ignore[attr-defined]
            assert sys.modules["a"].V == 2  # what the refresh swapped stays swapped


def test_the_command_line_watch_in_process_ends_with_130_on_ctrl_c(make_tree: MakeTree) -> None:
    import io

    root = make_tree({"a.py": "class A: pass\n"})
    out, err = io.StringIO(), io.StringIO()

    def user() -> None:
        # Once the listing is out (watching is armed then), a change; once it is
        # printed, its summary and then its traceback, Ctrl-C.
        deadline = time.monotonic() + WAIT
        while "1 plugin class" not in out.getvalue() and time.monotonic() < deadline:
            time.sleep(0.005)
        (root / "b.py").write_text("class B(:\n")
        while time.monotonic() < deadline and not (
            "1 error" in out.getvalue() and "SyntaxError" in err.getvalue()
        ):
            time.sleep(0.005)

    status = main_until_ctrl_c([str(root), "--watch", "--traceback"], out, err, user)
    assert status == 130
    assert "1 plugin class in 1 module" in out.getvalue()
    assert "1 error" in out.getvalue() and "SyntaxError" in err.getvalue()


def test_the_command_line_watch_in_process_prints_json_lines(make_tree: MakeTree) -> None:
    import io
    import json

    root = make_tree({"a.py": "class A: pass\n"})
    out = io.StringIO()

    def user() -> None:
        deadline = time.monotonic() + WAIT
        while not out.getvalue().endswith("\n") and time.monotonic() < deadline:
            time.sleep(0.005)
        (root / "a.py").unlink()
        while out.getvalue().count("\n") < 2 and time.monotonic() < deadline:
            time.sleep(0.005)

    status = main_until_ctrl_c([str(root), "--watch", "--json"], out, io.StringIO(), user)
    listing, change = map(json.loads, out.getvalue().splitlines()[:2])
    assert status == 130 and listing["counts"]["classes"] == 1
    assert change["removed"] == ["a"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_ctrl_c_taken_by_another_thread_ends_the_iteration(
    make_tree: MakeTree, backend: str
) -> None:
    # The main thread blocks SIGINT, so the kernel hands it to the helper thread; Python
    # still raises KeyboardInterrupt in the main thread, which must wake up to see it.
    root = make_tree({"a.py": "class A: pass\n"})
    code = f"""
        import os, signal, sys, threading, time
        from pike.manager import PikeManager

        main = threading.main_thread()
        go, done = threading.Event(), threading.Event()

        def press():
            go.wait(10)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:  # until main waits for a report
                frame = sys._current_frames().get(main.ident)
                if frame is not None and frame.f_code.co_name == "_each":
                    break
                time.sleep(0.005)
            os.kill(os.getpid(), signal.SIGINT)
            if not done.wait(10):
                print("main never woke", flush=True)
                os._exit(3)

        helper = threading.Thread(target=press, daemon=True)
        helper.start()
        signal.pthread_sigmask(signal.SIG_BLOCK, {{signal.SIGINT}})
        with PikeManager([{str(root)!r}]) as mgr:
            mgr.get_classes()
            try:
                with mgr.watch(backend={backend!r}) as changes:
                    go.set()
                    for change in changes:
                        print("change:", change, flush=True)
            except KeyboardInterrupt:
                print("interrupted", flush=True)
            done.set()
        """
    result = run_python(code)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines() == ["interrupted"]
