from bases import Extension

from . import _common


class ReverseExtension(Extension):
    def get_name(self) -> str:
        return "This is ReverseExtension"

    def transform(self, text: str) -> str:
        return _common.clean(text)[::-1]
