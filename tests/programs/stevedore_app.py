"""A small stevedore program: formatters as drivers, extensions, hooks and dispatch.

tests/test_stevedore_program.py runs it unchanged but for the import lines below
(``stevedore`` becomes ``pike.named``), against the distribution the test
installs, and compares its output with what stevedore prints.
"""

import sys

from stevedore import dispatch, driver, enabled, exception, extension, hook, named

DATA = {"b": "two", "a": "one"}


def show(title, lines):
    print(f"{title}: {' | '.join(lines)}")


def formatted(ext, data):
    return f"{ext.name}={''.join(ext.obj.format(data))}"


def main(width):
    mgr = driver.DriverManager(
        namespace="acme.formatters", name="simple", invoke_on_load=True, invoke_args=(width,)
    )
    show("driver", ["".join(mgr.driver.format(DATA)), type(mgr.driver).__name__])
    show("driver call", [mgr(formatted, DATA)])

    every = extension.ExtensionManager("acme.formatters", invoke_on_load=True, invoke_args=(width,))
    show("names", every.names())  # 'broken' is logged and skipped
    show("map", every.map(formatted, DATA))
    show("map_method", ["".join(r) for r in every.map_method("format", {"k": "v"})])
    show("items", [f"{name}:{ext.entry_point_target}" for name, ext in sorted(every.items())])
    show("entry points", sorted(every.entry_points_names()))
    show("contains", [str("upper" in every), str("nope" in every)])
    show("module", [every["fields"].module_name, every["fields"].attr])

    picked = named.NamedExtensionManager(
        "acme.formatters", names=["upper", "simple", "missing"], name_order=True,
        invoke_on_load=True, invoke_args=(width,),
    )  # fmt: skip
    show("named", picked.names())

    some = enabled.EnabledExtensionManager(
        "acme.formatters", check_func=lambda ext: ext.name != "upper",
        invoke_on_load=True, invoke_args=(width,),
    )  # fmt: skip
    show("enabled", some.names())

    hooks = hook.HookManager("acme.hooks", "on_save")
    show("hooks", sorted(hooks.map(lambda ext, doc: ext.plugin(doc), "doc")))
    show("hook list", [str(len(hooks["on_save"]))])

    chooser = dispatch.DispatchExtensionManager(
        "acme.formatters", check_func=lambda ext: True, invoke_on_load=True, invoke_args=(width,)
    )
    show("dispatch", chooser.map(lambda ext, data: ext.name.startswith("f"), formatted, DATA))
    by_name = dispatch.NameDispatchExtensionManager(
        "acme.formatters", check_func=lambda ext: True, invoke_on_load=True, invoke_args=(width,)
    )
    show("name dispatch", by_name.map(["upper", "nope", "simple"], formatted, DATA))

    try:
        driver.DriverManager("acme.formatters", "nope")
    except exception.NoMatches as error:
        show("no driver", [type(error).__name__, str(isinstance(error, RuntimeError))])
    try:
        extension.ExtensionManager("acme.nothing").map(formatted, DATA)
    except exception.NoMatches as error:
        show("no extensions", [str(error)])

    def failing(ext, data):
        raise ValueError(ext.name)

    show("errors eaten", [str(every.map(failing, DATA))])
    strict = extension.ExtensionManager("acme.formatters", propagate_map_exceptions=True)
    try:
        strict.map(failing, DATA)
    except ValueError as error:
        show("errors propagated", [str(error)])

    failures = []
    extension.ExtensionManager(
        "acme.formatters", on_load_failure_callback=lambda m, ep, err: failures.append(ep.name)
    )
    show("failures", failures)

    fake = extension.Extension("fake", None, None, "FAKE")
    tested = driver.DriverManager.make_test_instance(fake)
    show("test instance", [tested.driver, tested.namespace])


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20)
