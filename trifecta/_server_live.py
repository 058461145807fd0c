"""Which threads this server is running now, and a wake-up for the inspector pages that
follow them (each progress event of a run wakes its followers, who then read the
checkpoint again)."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter

__all__ = ["LiveRuns"]


class LiveRuns:
    """Runs in progress on this server, by thread."""

    def __init__(self) -> None:
        self._running: Counter[str] = Counter()
        self._wake: dict[str, asyncio.Event] = {}

    def begin(self, thread: str) -> None:
        """A run started on `thread`."""
        self._running[thread] += 1
        self.touch(thread)

    def end(self, thread: str) -> None:
        """A run on `thread` ended (finished, paused, failed or cut)."""
        self._running[thread] -= 1
        if self._running[thread] <= 0:
            del self._running[thread]
        self.touch(thread)

    def running(self, thread: str) -> bool:
        """Whether a run on `thread` is in progress here."""
        return self._running[thread] > 0

    def touch(self, thread: str) -> None:
        """Something happened on `thread`: wake whoever waits in `changed`."""
        event = self._wake.pop(thread, None)
        if event is not None:
            event.set()

    async def changed(self, thread: str, timeout: float) -> None:
        """Return when `thread` is touched, or after `timeout` seconds."""
        event = self._wake.setdefault(thread, asyncio.Event())
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await event.wait()
        if self._wake.get(thread) is event and not event.is_set():
            del self._wake[thread]  # nothing happened: keep no event for a quiet thread
