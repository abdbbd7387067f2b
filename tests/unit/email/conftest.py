"""E-mail unit tests: make `tests.helpers` importable however pytest was started."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
if str(ROOT) not in sys.path:  # `tests.helpers` importable however pytest was started
    sys.path.insert(0, str(ROOT))
