"""Studio sessions by a secret token, so that reloading the page finds its session again.

A browser tab keeps its token in the page address. A reloaded tab is a new connection with
the same token: it takes the session over once the old connection has gone. A session whose
connection has been gone longer than the grace period ends, and its folder is removed.

Example:
    >>> connected = {"tab-1"}
    >>> registry = SessionRegistry(lambda: [], is_connected=connected.__contains__, grace_seconds=60)
    >>> token, first = registry.attach(None, "tab-1")
    >>> connected = {"tab-2"}; registry.is_connected = connected.__contains__  # the tab was reloaded
    >>> registry.attach(token, "tab-2")[1] is first
    True
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

DEFAULT_GRACE_SECONDS = 120.0


@dataclass
class _Entry:
    session: Any
    connection: str
    gone_since: float | None = None


class SessionRegistry:
    """Sessions made by ``factory``, found again by token; ``is_connected(connection)`` says
    whether a browser connection is still open. Thread-safe."""

    def __init__(
        self,
        factory: Callable[[], Any],
        *,
        is_connected: Callable[[str], bool],
        grace_seconds: float = DEFAULT_GRACE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.factory = factory
        self.is_connected = is_connected
        self.grace_seconds = grace_seconds
        self._clock = clock
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()

    def attach(self, token: str | None, connection: str) -> tuple[str, Any]:
        """The session of ``token`` for ``connection``, or a new one (with a new token).

        A token whose session another open connection holds is not shared: the address was
        copied to another tab or person, who gets a session of their own.
        """
        self.sweep()
        with self._lock:
            entry = self._entries.get(token or "")
            if entry is not None and (entry.connection == connection or not self.is_connected(entry.connection)):
                entry.connection, entry.gone_since = connection, None
                return token, entry.session
            token = secrets.token_urlsafe(16)
            self._entries[token] = _Entry(self.factory(), connection)
            return token, self._entries[token].session

    def sweep(self) -> int:
        """End the sessions whose connection has been gone longer than the grace period; how many."""
        now = self._clock()
        ended = []
        with self._lock:
            for token, entry in list(self._entries.items()):
                if self.is_connected(entry.connection):
                    entry.gone_since = None
                elif entry.gone_since is None:
                    entry.gone_since = now
                elif now - entry.gone_since > self.grace_seconds:
                    del self._entries[token]
                    ended.append(entry.session)
        for session in ended:
            session.close()
        return len(ended)

    def __len__(self) -> int:
        return len(self._entries)

    def close_all(self) -> None:
        with self._lock:
            sessions = [entry.session for entry in self._entries.values()]
            self._entries.clear()
        for session in sessions:
            session.close()
