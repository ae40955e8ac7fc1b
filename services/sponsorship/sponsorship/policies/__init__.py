"""Reactions to other services' events that issue this service's commands."""

from .hotels import hotels

__all__ = ["hotels"]
