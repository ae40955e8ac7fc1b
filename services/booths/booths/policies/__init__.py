"""Reactions to other services' events that issue booths commands (through `handlers`)."""

from .admissions import admissions
from .sponsorship import sponsorship

__all__ = ["admissions", "sponsorship"]
