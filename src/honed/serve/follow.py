"""Follow a moving reference: `honed serve tiny@production` re-resolves the reference every few seconds and, when
the alias has moved, swaps the new version's adapter in (LocalBackend.swap): new requests get the new version,
requests in flight finish on the old one, nothing is dropped. The resolver comes from the layers above (the
registry), so serve never reads the registry itself.

A version that cannot swap in place (another base, not an adapter) is refused: the server keeps answering with
the version it has, logs why, and shows it under `following` in /health.
"""
from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

from honed.serve.pool import Resolver, Spec, parse_spec

log = logging.getLogger("honed.serve")

DEFAULT_INTERVAL_S = 5.0


class Follower:
    def __init__(self, backend, resolve: Resolver, interval_s: float = DEFAULT_INTERVAL_S):
        self.backend, self.resolve, self.interval_s = backend, resolve, interval_s
        self.status: dict[str, dict] = {name: {"follows": ref, "version": backend.served(name).version,
                                               "since": time.time(), "error": None}
                                        for name, ref in backend.followed().items()}

    async def run(self) -> None:
        """Check every `interval_s` until cancelled (the app's lifespan starts and cancels it)."""
        while True:
            await asyncio.sleep(self.interval_s)
            await self.check_all()

    async def check_all(self) -> None:
        for name, reference in self.backend.followed().items():
            await self.check(name, reference)

    async def check(self, name: str, reference: str) -> bool:
        """Swap `name` to the version `reference` names now, if it moved; True when it swapped."""
        current = self.backend.served(name).version
        try:
            found = await asyncio.to_thread(self.resolve, reference)
            if found is None or found[1] == current:
                self._note(name, current, None)
                return False
            spec = await asyncio.to_thread(_spec_of, name, reference, found)
            await self.backend.swap(name, spec)
        except Exception as exc:  # noqa: BLE001 - the server keeps answering with what it has
            self._note(name, current, f"{type(exc).__name__}: {exc}")
            return False
        log.warning("%s moved: %s now answers with %s (was %s)", reference, name, spec.version, current)
        self.status[name].update(version=spec.version, since=time.time(), error=None)
        return True

    def _note(self, name: str, version: str | None, error: str | None) -> None:
        status = self.status.setdefault(name, {"follows": None, "since": time.time()})
        if error and error != status.get("error"):  # once per distinct problem, not every poll
            log.warning("cannot follow %s: %s; still answering with %s", name, error, version)
        status.update(version=version, error=error)


def _spec_of(name: str, reference: str, found: tuple[Path, str, bool]) -> Spec:
    """The new version as a Spec served as `name` (through parse_spec: the same checks as at start)."""
    return parse_spec(f"{name}={reference}", lambda _target: found)
