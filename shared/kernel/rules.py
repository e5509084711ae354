"""The kernel's form for a refused command: what rule, why (in English and Vietnamese), and which input."""

from __future__ import annotations

from typing import Literal

Kind = Literal["conflict", "invalid", "not_found", "forbidden"]


class RuleViolation(Exception):
    """A command broke a domain rule; `field` names the input at fault when there is one.

    Domains raise it with their own codes and messages; the HTTP layer turns `kind` into 409, 422, 404 or 403.
    """

    def __init__(
        self,
        code: str,
        message: str,
        message_vi: str,
        kind: Kind = "conflict",
        field: str | None = None,
        **extra: object,
    ) -> None:
        super().__init__(message)
        self.code, self.message, self.message_vi, self.kind, self.field = code, message, message_vi, kind, field
        self.extra = extra
