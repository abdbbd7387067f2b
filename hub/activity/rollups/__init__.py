"""Read models kept beside the activities: KPI roll-ups and the client-base deltas.

Each is a projection (`projections.py`): it declares how a transaction's activity and
contact changes move it and how to rebuild it from the activities. The store runs every
declared projection on every write path, in the same transaction, through its unit of
work (`hub/activity/unit_of_work.py`).

- `tables.py`: the roll-up tables; `rules.py`: each KPI rule in Python and in SQL;
  `localtime.py`: company-local days and months, in Python and in SQL.
- `deltas.py` (pure) and `adjust.py`: KPI roll-ups moved by changed rows; `rebuild.py`:
  the same from scratch.
- `client_state.py` (pure) and `client_base.py`: the per-owner client-base deltas.
"""
