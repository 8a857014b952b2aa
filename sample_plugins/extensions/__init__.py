"""A plugin package: its extensions live in submodules and a subpackage."""

from extensions.shout import ShoutExtension

__all__ = ["ShoutExtension"]
