"""A helper submodule, imported relatively (``from . import _common``)."""


def clean(text: str) -> str:
    return " ".join(text.split())
