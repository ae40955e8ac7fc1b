"""The garbage collector of a long-running process, tuned once it has started.

By default CPython collects its young objects every 700 allocations and, every few of those,
walks the whole heap: the modules, routes, schemas and clients built at start included. On
two cores under load a full collection held an API's event loop for 100 to 500 ms (`make
bench`, a probe on gc.callbacks), and in a worker collections took 16 µs of the 32–42 µs of
CPU per projected event. What start-up built lives as long as the process, so it is frozen
out of every later collection; young collections come less often, so the short-lived objects
of a request or a batch are mostly freed by reference counting before the collector looks.
Reference cycles are still collected, only less often.
"""

from __future__ import annotations

import gc

SERVING = 10_000
"""An API process: young collections every 10,000 objects (50,000 made each pause too long
for a request's latency)."""
WORKING = 50_000
"""A worker (relay, projections, jobs): a batch of 2,000 events holds some 40,000 small
objects that all die when it commits, so the collector waits for more."""


def settle_heap(young_every: int = SERVING) -> None:
    """Freeze what start-up built, then collect young objects every `young_every`."""
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(young_every, older, oldest)
