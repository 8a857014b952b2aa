"""Discovery helpers: ``filesystem`` looks at folders, ``py`` at imported modules."""

from pike.discovery import filesystem, py

__all__ = ["filesystem", "py"]
