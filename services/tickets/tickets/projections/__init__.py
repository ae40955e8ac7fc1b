"""The tickets service's read models, applied by one projection: `views`.

`sales`, `admissions` and `visitors` each say what their events mean for their own tables;
one consumer applies them all. Three consumers of the one topic would each fetch, decode and
keep the stream versions of every event (an order's too, at the gates' read model): about
three milliseconds of CPU per order in the worker, PostgreSQL and the broker
(`bench/tickets.py`, `BENCH_PROFILE`), half of what the rest of an order costs.
"""

from fairline_events.projection import Projection

from . import admissions, sales, visitors


def one_read_model(name: str, *parts: Projection) -> Projection:
    """One projection applying the tables and handlers of `parts` (same topics, same
    registry); an event type may mean something to one part only."""
    handled: set[str] = set()
    for part in parts:
        if shared := handled & part.handlers.keys():
            raise ValueError(f"{part.name} handles {sorted(shared)} too: one part per event type")
        handled |= part.handlers.keys()
    first = parts[0]
    if any(p.topics != first.topics or p.registry is not first.registry for p in parts):
        raise ValueError("the parts of one read model read the same topics with one registry")
    merged = Projection(
        name=name,
        topics=first.topics,
        registry=first.registry,
        tables_sql="\n".join(p.tables_sql for p in parts),
    )
    for part in parts:
        merged.handlers.update(part.handlers)
    return merged


views = one_read_model("views", sales.sales, admissions.admissions, visitors.visitors)
"""Products, quotas and orders; tickets, scans and revocations; visitors: schema `proj_views`."""

__all__ = ["views"]
