"""A hub process's start-up heap, set aside from Python's cyclic garbage collector.

What a process builds before its first touch — modules, the settings, SQLAlchemy's
metadata and statement caches, the adapters — lives as long as the process. Every full
collection walked all of it again, and a busy ingest (a Telegram backlog, a campaign)
triggers many. `settle()` moves it to the collector's permanent generation
(`gc.freeze`, as the `gc` documentation suggests for long-running servers), so that
collections walk only what was made since. Decision 0080 has the figures.
"""

from __future__ import annotations

import gc


def settle() -> int:
    """Collect once, then set aside what is left; how many objects are set aside now."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()
