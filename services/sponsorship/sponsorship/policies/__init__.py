"""Reactions to other services' events that issue this service's commands: the answers of
the services that deliver a package's benefits (hotels, forums, booths)."""

from .booths import booths
from .forums import forums
from .hotels import hotels

__all__ = ["booths", "forums", "hotels"]
