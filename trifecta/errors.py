"""One hierarchy for every error trifecta raises on purpose.

```
TrifectaError
├── UserError   bad input, configuration or usage: the message says what to change (CLI exit 2)
└── RunError    a part a run needs failed: a model, a database, a store, the sandbox (CLI exit 3)
```

Each also derives from the built-in it replaced (`ValueError`, `RuntimeError`), so
existing ``except`` clauses keep working. Anything else that escapes is a bug.
"""

from __future__ import annotations

__all__ = ["RunError", "TrifectaError", "UserError"]


class TrifectaError(Exception):
    """Base of every error trifecta raises on purpose."""


class UserError(TrifectaError, ValueError):
    """Bad input, configuration or usage; the message says what to change."""


class RunError(TrifectaError, RuntimeError):
    """A model, database, document store or sandbox failed while running."""
