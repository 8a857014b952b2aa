"""An idiomatic stevedore program, typed as stevedore's own examples are, with only its
imports changed: `mypy --strict` and pyright (default and strict) accept it as they accept
it against stevedore 5.10 (tests/test_typing.py). Type-checked only, never run.

No manager needs a type annotation: made without a type argument, a manager is
``DriverManager[Any]``, ``ExtensionManager[Any]``...
"""

from collections.abc import Callable, Iterable
from importlib.metadata import EntryPoint
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from pike.named import dispatch, driver, enabled, exception, extension, hook, named

DATA = {"a": "one", "b": "two"}


class Formatter:
    """The plugins' base class, as stevedore's tutorial has it."""

    def __init__(self, max_width: int = 60) -> None:
        self.max_width = max_width

    def format(self, data: dict[str, str]) -> Iterable[str]:
        return [f"{key}={value}\n" for key, value in sorted(data.items())]


def format_data(
    ext: extension.Extension[Formatter], data: dict[str, str], /
) -> tuple[str, Iterable[str]]:
    assert ext.obj is not None
    return (ext.name, ext.obj.format(data))


def wanted(ext: extension.Extension, data: dict[str, str], /) -> bool:
    return ext.name.startswith("f")


def failed(manager: extension.ExtensionManager, ep: EntryPoint, err: BaseException) -> None:
    print(f"{manager.namespace}: could not load {ep.name}: {err}")


def load_driver(width: int) -> None:
    mgr = driver.DriverManager(
        namespace="acme.formatters",
        name="simple",
        invoke_on_load=True,
        invoke_args=(width,),
    )
    # okay because invoke_on_load is true (stevedore's own example narrows the same way)
    assert isinstance(mgr.driver, Formatter)
    for chunk in mgr.driver.format(DATA):
        print(chunk, end="")
    print(mgr(format_data, DATA))

    classes = driver.DriverManager("acme.formatters", "simple")
    instance = classes.driver()  # what the entry point names, called
    print(instance, classes.extensions[0].plugin)

    typed = driver.DriverManager[Formatter](
        "acme.formatters",
        "simple",
        invoke_on_load=True,
        invoke_kwds=MappingProxyType({"max_width": width}),
        on_load_failure_callback=failed,
    )
    print(typed.driver)


def load_extensions(width: int) -> None:
    mgr = extension.ExtensionManager(
        namespace="acme.formatters",
        invoke_on_load=True,
        invoke_args=(width,),
        propagate_map_exceptions=False,
        on_load_failure_callback=failed,
    )
    results = mgr.map(format_data, DATA)
    for name, result in results:
        print(f"Formatter: {name}")
        for chunk in result:
            print(chunk, end="")
    for text in mgr.map_method("format", DATA):
        print(text)
    print(mgr.map(lambda ext: ext.name))
    for ext in mgr:
        print(ext.name, ext.entry_point_target, ext.module_name, ext.attr, ext.plugin, ext.obj)
    for name, ext in mgr.items():
        print(name, ext.entry_point.group)
    print(mgr.names(), mgr.entry_points_names(), "upper" in mgr, mgr["simple"].name)
    print([ep.value for ep in mgr.list_entry_points()], mgr.extensions)


def load_named(width: int) -> None:
    fast = named.NamedExtensionManager(
        "acme.formatters",
        names={"fast"},
        invoke_on_load=True,
        invoke_kwds=MappingProxyType({"max_width": width}),
        name_order=True,
        on_missing_entrypoints_callback=named.warning_on_missing_entrypoint,
    )
    print(fast.names(), fast.map(format_data, DATA))
    some = enabled.EnabledExtensionManager(
        "acme.formatters", check_func=lambda ext: ext.name != "upper"
    )
    print(some.names())


def run_hook(ext: extension.Extension, doc: str) -> Any:
    return ext.plugin(doc)


def load_hooks() -> None:
    hooks = hook.HookManager("acme.hooks", "on_save")
    print(hooks.map(run_hook, "doc"))
    for ext in hooks["on_save"]:
        print(ext.name, ext.plugin)


def dispatch_them(width: int) -> None:
    chooser = dispatch.DispatchExtensionManager(
        "acme.formatters", check_func=lambda ext: True, invoke_on_load=True, invoke_args=(width,)
    )
    print(chooser.map(wanted, format_data, DATA))
    by_name = dispatch.NameDispatchExtensionManager(
        "acme.formatters", check_func=lambda ext: True, invoke_on_load=True, invoke_args=(width,)
    )
    print(by_name.map(["upper", "simple"], format_data, DATA), by_name.by_name["simple"].name)


def tested() -> None:
    ep = EntryPoint("fake", "acme_formatters:Formatter", "acme.formatters")
    fake = extension.Extension("fake", ep, Formatter, Formatter())
    mgr = extension.ExtensionManager.make_test_instance([fake])
    one = driver.DriverManager.make_test_instance(fake)
    print(mgr.names(), one.driver, fake.obj)


def typed(width: int) -> None:
    """What the types say, where stevedore types them."""
    if TYPE_CHECKING:
        from typing_extensions import assert_type

        mgr = extension.ExtensionManager[Formatter]("acme.formatters", invoke_on_load=True)
        for ext in mgr:
            assert_type(ext, extension.Extension[Formatter])
            assert_type(ext.obj, Formatter | None)
            assert_type(ext.plugin, type[Formatter])
        assert_type(mgr.map(format_data, DATA), list[tuple[str, Iterable[str]]])
        one = driver.DriverManager[Formatter]("acme.formatters", "simple")
        assert_type(one.driver, Formatter | Callable[..., Formatter])
        assert_type(driver.DriverManager("acme.formatters", "simple"), driver.DriverManager[Any])
        assert_type(hook.HookManager("acme.hooks", "on_save")["on_save"], list[extension.Extension])


def main() -> None:
    try:
        load_driver(60)
    except exception.NoMatches as exc:
        print(exc)
    load_extensions(60)
    load_named(60)
    load_hooks()
    dispatch_them(60)
    tested()
    typed(60)
    options: dict[str, Any] = {"invoke_on_load": True}
    print(extension.ExtensionManager("acme.formatters", **options).names())


if __name__ == "__main__":
    main()
