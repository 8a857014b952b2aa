"""The errors of named plugins, as stevedore's ``stevedore.exception`` names them.

They are pike's own (in [`pike.errors`][pike.errors]): ``NoUniqueMatch`` is a
[`PikeError`][pike.errors.PikeError] and a ``RuntimeError``, as stevedore's is.
"""

from pike.errors import EntryPointError, MultipleMatches, NoMatches, NoUniqueMatch

__all__ = ["EntryPointError", "MultipleMatches", "NoMatches", "NoUniqueMatch"]
