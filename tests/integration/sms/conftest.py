"""Fixtures of the SMS integration tests: the npm `smpp` SMSC, installed once per session."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.helpers.smsc import Smsc, node_modules, running_smsc


@pytest.fixture(scope="session")
def smsc_node_modules() -> Path:
    """`npm ci` of the pinned `smpp` package into its cache folder (once, then reused)."""
    return node_modules()


@pytest.fixture
async def smsc(smsc_node_modules: Path) -> AsyncIterator[Smsc]:
    """An SMSC with the default scenario (system_id hub / password secret, hex ids, receipts)."""
    async with running_smsc() as server:
        yield server
