"""A plugin that imports a sibling module of the same folder (``text_tools``)."""

import text_tools
from bases import Extension


class GreeterExtension(Extension):
    def get_name(self) -> str:
        return "This is GreeterExtension"

    def transform(self, text: str) -> str:
        return text_tools.framed(f"Hello, {text}")
