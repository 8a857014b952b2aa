"""The seed article's first driver."""

from bases import Driver


class SimpleDriver(Driver):
    def get_name(self) -> str:
        return "This is SimpleDriver"
