"""Reactions to other services' events that issue forums commands (through `handlers`)."""

from .exhibitors import exhibitors
from .sponsorship import sponsorship

__all__ = ["exhibitors", "sponsorship"]
