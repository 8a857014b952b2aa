"""pike's loggers, which cost nothing until a record could be seen (the import cost).

``logging`` takes longer to import than the rest of pike's core together, and
most programs never see a pike record. A [`Logger`][pike._log.Logger] stands in
for ``logging.getLogger(name)``: it imports ``logging`` on the first record
that some handler could receive. A DEBUG or INFO record is dropped without
that while ``logging`` is not imported at all, since then no program has set a
level or handler that would let it through (Python's last-resort handler only
shows WARNING and above); WARNING and above always go to the real logger.
"""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["Logger", "get"]

DEBUG = 10
INFO = 20
WARNING = 30


class Logger:
    """``logging.getLogger(name)``, imported on first use; the methods pike calls."""

    __slots__ = ("_logger", "name")

    def __init__(self, name: str) -> None:
        self.name = name
        self._logger: Any = None

    def _real(self) -> Any:
        if self._logger is None:
            import logging

            self._logger = logging.getLogger(self.name)
        return self._logger

    def isEnabledFor(self, level: int) -> bool:
        if self._logger is None and "logging" not in sys.modules:
            return level >= WARNING
        return bool(self._real().isEnabledFor(level))

    def _log(self, level: int, msg: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        if level < WARNING and self._logger is None and "logging" not in sys.modules:
            return
        kwargs.setdefault("stacklevel", 3)  # the caller of debug(), not this module
        self._real().log(level, msg, *args, **kwargs)

    def debug(self, msg: str, *args: Any, **kwargs: Any) -> None:
        self._log(DEBUG, msg, args, kwargs)

    def info(self, msg: str, *args: Any, **kwargs: Any) -> None:
        self._log(INFO, msg, args, kwargs)

    def warning(self, msg: str, *args: Any, **kwargs: Any) -> None:
        self._log(WARNING, msg, args, kwargs)

    def error(self, msg: str, *args: Any, **kwargs: Any) -> None:
        self._log(40, msg, args, kwargs)

    def exception(self, msg: str, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("exc_info", True)
        self._log(40, msg, args, kwargs)


def get(name: str) -> Logger:
    """The logger of module ``name`` (as ``logging.getLogger(__name__)``)."""
    return Logger(name)
