"""Event types, their schema versions and upcasters.

Every domain event is a frozen pydantic model registered under a stable type name and a
schema version. When a schema changes, the old version keeps an upcaster that turns its
stored payload into the next version's shape, so readers only ever see the newest shape.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from .errors import MalformedEvent, UnknownEventType
from .names import RECORDED

Payload = dict[str, Any]
Upcaster = Callable[[Payload], Payload]


class DomainEvent(BaseModel):
    """Base of all domain events: plain, immutable data, no I/O."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_type: ClassVar[str] = ""
    schema_version: ClassVar[int] = 1


E = TypeVar("E", bound=type[DomainEvent])


class EventRegistry:
    def __init__(self) -> None:
        self._types: dict[str, type[DomainEvent]] = {}
        self._upcasters: dict[tuple[str, int], Upcaster] = {}

    def event(self, name: str, version: int = 1) -> Callable[[E], E]:
        """Class decorator: register `cls` as the current shape of event `name`."""

        def register(cls: E) -> E:
            if name in self._types and self._types[name] is not cls:
                raise ValueError(f"event type {name!r} registered twice")
            cls.event_type = name
            cls.schema_version = version
            self._types[name] = cls
            return cls

        return register

    def upcaster(self, name: str, from_version: int) -> Callable[[Upcaster], Upcaster]:
        """Register the function that lifts `name` from `from_version` to the next version."""

        def register(fn: Upcaster) -> Upcaster:
            self._upcasters[(name, from_version)] = fn
            return fn

        return register

    def include(self, other: EventRegistry) -> None:
        for name, cls in other._types.items():
            self._types.setdefault(name, cls)
        self._upcasters.update(other._upcasters)

    def knows(self, name: str) -> bool:
        return name in self._types

    def type_of(self, name: str) -> type[DomainEvent]:
        try:
            return self._types[name]
        except KeyError:
            raise UnknownEventType(name) from None

    def encode(self, event: DomainEvent) -> tuple[str, int, Payload]:
        cls = type(event)
        if self._types.get(cls.event_type) is not cls:
            raise UnknownEventType(cls.__name__)
        return cls.event_type, cls.schema_version, event.model_dump(mode="json")

    def decode(self, name: str, version: int, data: Payload) -> DomainEvent:
        cls = self.type_of(name)
        if version > cls.schema_version or version < 1:
            raise UnknownEventType(name, version)
        while version < cls.schema_version:
            step = self._upcasters.get((name, version))
            if step is None:
                raise UnknownEventType(name, version)
            data = step(dict(data))
            version += 1
        try:
            # as recorded: rules added since (e.g. on names) do not refuse what was accepted
            return cls.model_validate(data, context=RECORDED)
        except ValidationError as exc:
            raise MalformedEvent(f"{name} v{version}: {exc.errors(include_url=False)}") from exc

    def names(self) -> list[str]:
        return sorted(self._types)
