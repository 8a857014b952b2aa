"""The sample drop-in folder works the way the Pike half of "A Look at two Python Plugin
Managers: Stevedore and Pike" does."""

from __future__ import annotations

import sys

from pike.manager import PikeManager
from tests.conftest import REPO

SAMPLE = REPO / "sample_plugins"


def test_sample_drivers_and_extensions() -> None:
    with PikeManager([SAMPLE]) as mgr:
        import bases  # type: ignore[import-not-found]

        drivers = mgr.get_all_inherited_classes(bases.Driver)
        extensions = mgr.get_all_inherited_classes(bases.Extension)
        assert [d().get_name() for d in drivers] == [
            "This is SimpleDriver",
            "This is MyOtherDriver",
        ]
        text = "pike"
        for ext in extensions:
            text = ext().transform(text)
        assert mgr.errors == []
    assert [e.__name__ for e in extensions] == [
        "ReverseExtension",
        "ShoutExtension",
        "GreeterExtension",
    ]
    assert text == "[ Hello, EKIP ]"
    assert "bases" not in sys.modules
