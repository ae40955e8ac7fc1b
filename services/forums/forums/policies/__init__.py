"""Reactions to other services' events that issue forums commands (through `handlers`)."""

from .exhibitors import exhibitors

__all__ = ["exhibitors"]
