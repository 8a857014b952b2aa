"""A typo of a driver's method, which the type checkers must catch (tests/test_typing.py)."""

from pike.named import DriverManager


class Driver:
    def get_name(self) -> str:
        return "driver"


print(DriverManager[Driver]("acme.drivers", "fast", invoke_on_load=True).driver.get_nme())
