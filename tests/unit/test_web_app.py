"""The web app's route modules are imported strictly: a missing one is an error, not a skip."""

from __future__ import annotations

import pytest

from hub.web.app import ROUTE_MODULES, load_route_modules


def test_every_core_route_module_loads() -> None:
    assert [m.__name__ for m in load_route_modules()] == list(ROUTE_MODULES)


def test_a_missing_route_module_is_an_error() -> None:
    with pytest.raises(ModuleNotFoundError, match=r"hub\.web\.api_not_written"):
        load_route_modules(("hub.web.api_system", "hub.web.api_not_written"))


def test_a_module_without_routes_is_refused() -> None:
    with pytest.raises(TypeError, match="must expose `routes"):
        load_route_modules(("hub.web.keys",))
