"""The request log and feedback, in honed's store.

One thread owns the store's SQLite connection; handlers await their write, so a response (or the last stream
chunk) leaves only after its row is committed: a server killed afterwards loses nothing (WAL mode, one
transaction per row). Prompts, responses and feedback text pass honed's PII redactor first unless `redact` is
off; `sample_rate` < 1 logs that share of requests (an unlogged request cannot receive feedback).
"""
from __future__ import annotations

import asyncio
import random
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from honed.core.store import Store
from honed.data.pii import Redactor, redact_value

TEXT_FIELDS = ("messages", "prompt")  # the parts of a request that carry user text


class RequestLog:
    def __init__(self, path: Path | None = None, *, sample_rate: float = 1.0, redact: bool = True, seed: int | None = None):
        if not 0 <= sample_rate <= 1:
            raise ValueError("sample_rate must be within [0, 1]")
        self.sample_rate = sample_rate
        self.redactor = Redactor() if redact else None
        self._random = random.Random(seed)
        self._store: Store | None = None
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="honed-log",
                                             initializer=self._open, initargs=(path,))

    def _open(self, path: Path | None) -> None:
        self._store = Store(path)

    def sampled(self) -> bool:
        return self.sample_rate >= 1 or self._random.random() < self.sample_rate

    async def _call(self, function, *args, **kwargs):
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, lambda: function(self._store, *args, **kwargs))

    async def record(self, request_id: str, *, endpoint: str, request: dict, response: str, model: str,
                     adapter: str | None, version: str | None, latency_s: float, prompt_tokens: int,
                     completion_tokens: int, sampling: dict) -> bool:
        """Write one request/response row (if sampled); True when written."""
        if not self.sampled():
            return False
        request = {k: (self._clean(v) if k in TEXT_FIELDS else v) for k, v in request.items()}
        await self._call(Store.log_request, request_id, model=model, adapter=adapter, version=version,
                         endpoint=endpoint, request=request, response=self._clean(response), latency_s=latency_s,
                         prompt_tokens=prompt_tokens, completion_tokens=completion_tokens, sampling=sampling)
        return True

    async def feedback(self, request_id: str, rating: int, correction: str | None, comment: str | None) -> bool:
        """Attach feedback to a logged request; False for an id the log does not hold."""
        return await self._call(Store.add_feedback, request_id, rating, self._clean(correction),
                                self._clean(comment))

    def _clean(self, value):
        if self.redactor is None or value is None:
            return value
        return redact_value(value, self.redactor, Counter())

    def close(self) -> None:
        self._executor.submit(lambda: self._store and self._store.close())
        self._executor.shutdown(wait=True)
