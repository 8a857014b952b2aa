"""The base classes the sample plugins derive from.

A real application would define these in its own package; they live in the
drop-in folder here so that ``python -m pike sample_plugins`` runs on its own.
"""


class Driver:
    """A driver: one of them is picked to do the job."""

    def get_name(self) -> str:
        raise NotImplementedError


class Extension:
    """An extension: all of them are run, each adds something."""

    def get_name(self) -> str:
        raise NotImplementedError

    def transform(self, text: str) -> str:
        return text
