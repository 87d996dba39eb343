"""The two shapes of an action's refusal, in Chinese and English, naming the field at fault.

- ``BilingualError`` (a ValueError): views catch it and show ``shown`` in the page's language.
- ``BilingualValidationError`` (Django's ValidationError): forms and DRF show it as a 400 naming the field.

Each app subclasses one of them under its own name (``BookingError``, ``ProcessError`` …), so callers catch
what they always caught.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.translation import get_language


class BilingualError(ValueError):
    """Bad input or a refused change; names the field, Chinese first."""

    def __init__(self, zh: str, en: str, field: str | None = None):
        super().__init__(f"{zh} / {en}")
        self.zh, self.en, self.field = zh, en, field

    @property
    def shown(self) -> str:
        """The message in the page's language (English pages get the English, every other page the Chinese)."""
        return self.en if (get_language() or "").startswith("en") else self.zh


class BilingualValidationError(ValidationError):
    """A refused step as a ValidationError: keyed by the field where there is one, with a code."""

    def __init__(self, zh: str, en: str, field: str | None = None, code: str = "invalid"):
        self.zh, self.en, self.field = zh, en, field
        message = f"{zh} / {en}"
        super().__init__({field: [ValidationError(message, code=code)]} if field else message, code=code)

    def __str__(self) -> str:
        return f"{self.zh} / {self.en}"
