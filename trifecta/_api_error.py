"""The server's errors, answered with OpenAI's error body."""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse

from trifecta.errors import TrifectaError

__all__ = ["ApiError"]


class ApiError(TrifectaError):
    """An error answered with an OpenAI-style body."""

    def __init__(
        self,
        status: int,
        message: str,
        kind: str = "invalid_request_error",
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(message)
        self.status, self.message, self.kind, self.code = status, message, kind, code
        self.headers = headers

    def body(self) -> dict[str, Any]:
        """The OpenAI error object."""
        return {
            "error": {"message": self.message, "type": self.kind, "param": None, "code": self.code}
        }

    def response(self) -> JSONResponse:
        """The error as a JSON response."""
        return JSONResponse(self.body(), status_code=self.status, headers=self.headers)
