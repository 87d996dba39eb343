"""Enums whose members carry data (pure: no Django, so the pure rule modules can use it).

    class Colour(CodedEnum):
        RED = ("red", "红", "red")
        label_zh: str
        label_en: str

The first item of a member's tuple is its value, a stable code (``Colour("red") is Colour.RED``); the other
items are set, in order, on the attributes the class annotates. A member with the wrong number of items is
refused when the class is made.
"""

from __future__ import annotations

from enum import Enum
from typing import Any, Self


class CodedEnum(Enum):
    """An enum of ``(code, *attributes)`` members; the attributes are named by the class's annotations."""

    def __new__(cls, code: str, *attributes: Any) -> Self:
        names = list(cls.__dict__.get("__annotations__", {}))
        if len(attributes) != len(names):
            raise TypeError(f"{cls.__name__} {code!r}: {len(attributes)} attributes given for {names}")
        member = object.__new__(cls)
        member._value_ = code
        for name, value in zip(names, attributes, strict=True):
            setattr(member, name, value)
        return member

    @property
    def code(self) -> str:
        """The stable machine code (the value), e.g. ``"sofa"``."""
        return str(self.value)
