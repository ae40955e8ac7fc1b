from .agendas import agendas
from .booth_sales import booth_sales
from .cards import cards
from .directory import directory
from .forum_activities import forum_activities
from .leads import leads
from .results import results
from .review_audit import review_audit
from .review_queue import review_queue
from .showcase import showcase

__all__ = [
    "agendas",
    "booth_sales",
    "cards",
    "directory",
    "forum_activities",
    "leads",
    "results",
    "review_audit",
    "review_queue",
    "showcase",
]
