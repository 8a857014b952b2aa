"""The driver the seed article adds next to the first one."""

from bases import Driver


class MyOtherDriver(Driver):
    def get_name(self) -> str:
        return "This is MyOtherDriver"
