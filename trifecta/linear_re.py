"""Regular expressions for user text that run in time linear in the text (RE2).

Python's `re` backtracks: a pattern such as ``^(?P<expr>.+?)(?:\\s+for\\s+x)?$`` takes
time quadratic (or worse) in a hostile input's length, and `re` holds the GIL while it
runs, so no thread or deadline can interrupt it. RE2 (Google's engine, through the
`google-re2` package) guarantees linear time; it has no backreferences or lookaround,
which these patterns do not need. Use `LinearPattern` for any pattern that meets text
a user wrote.
"""

from __future__ import annotations

from typing import Protocol, cast

import re2

__all__ = ["INLINE_CHARS", "LinearMatch", "LinearPattern"]

# Up to this many characters, matching these patterns costs microseconds: callers run it
# inline. Longer text goes to a worker thread, so the event loop never waits on it (a
# thread hop per short request costs more than the match, and contends for the GIL).
INLINE_CHARS = 2_000


class LinearMatch(Protocol):
    """The part of a match object these patterns use."""

    def group(self, group: int | str = 0, /) -> str | None:
        """The text of one group."""
        ...

    def groupdict(self) -> dict[str, str | None]:
        """Named groups by name."""
        ...

    def start(self, group: int | str = 0, /) -> int:
        """Where a group starts."""
        ...


def _encodable(text: str) -> str:
    """RE2 reads UTF-8: lone surrogates (which cannot be encoded) become U+FFFD."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "".join("\ufffd" if 0xD800 <= ord(c) <= 0xDFFF else c for c in text)
    return text


class LinearPattern:
    """A compiled RE2 pattern with the `re` methods the project uses.

    Args:
        pattern: RE2 syntax (Python's, minus backreferences and lookaround).
        ignore_case: match letters case-insensitively.
    """

    def __init__(self, pattern: str, *, ignore_case: bool = False) -> None:
        options = re2.Options()
        options.case_sensitive = not ignore_case
        self.pattern = pattern
        self._compiled = re2.compile(pattern, options)

    def match(self, text: str) -> LinearMatch | None:
        """A match at the start of `text`, or None."""
        return cast("LinearMatch | None", self._compiled.match(_encodable(text)))

    def search(self, text: str) -> LinearMatch | None:
        """The first match anywhere in `text`, or None."""
        return cast("LinearMatch | None", self._compiled.search(_encodable(text)))

    def sub(self, replacement: str, text: str) -> str:
        """`text` with every match replaced by the literal `replacement`."""
        return str(self._compiled.sub(replacement.replace("\\", "\\\\"), _encodable(text)))

    def split(self, text: str) -> list[str]:
        """`text` split at every match (the pattern must have no groups)."""
        return [str(part) for part in self._compiled.split(_encodable(text))]
