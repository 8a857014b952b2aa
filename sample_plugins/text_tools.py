"""Helpers shared by plugins: a plain module, it defines no classes."""


def framed(text: str) -> str:
    return f"[ {text} ]"
