from .directory import directory
from .review_queue import review_queue

__all__ = ["directory", "review_queue"]
