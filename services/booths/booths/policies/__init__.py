"""Reactions to other services' events that issue booths commands (through `handlers`)."""

from .admissions import admissions

__all__ = ["admissions"]
