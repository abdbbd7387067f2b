"""The activity store: contacts, employees, identities and every recorded touch.

Open it with `ActivityStore.open(url, StoreOptions(...))`; adapters write through
`store.writer()`, a batching `Sink`; people and the API use `store.contacts`,
`store.employees`, `store.activities` and `store.tokens`.
"""

from hub.activity.leases import Lease, LeaseBoard, LeaseHolder, ProcessId
from hub.activity.options import CallbackPolicy, DialogPolicy, StoreOptions, WriterOptions
from hub.activity.principal import ADMIN, ROLES, Principal, Role
from hub.activity.repos import ActivityFilter, MergeResult, Page, UnmergeResult
from hub.activity.store import ActivityStore, ApplyResult
from hub.activity.writer import BatchWriter

__all__ = [
    "ADMIN",
    "ROLES",
    "ActivityFilter",
    "ActivityStore",
    "ApplyResult",
    "BatchWriter",
    "CallbackPolicy",
    "DialogPolicy",
    "Lease",
    "LeaseBoard",
    "LeaseHolder",
    "MergeResult",
    "Page",
    "Principal",
    "ProcessId",
    "Role",
    "StoreOptions",
    "UnmergeResult",
    "WriterOptions",
]
