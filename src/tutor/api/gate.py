"""One generation at a time (or `llm_concurrency`), a bounded line of waiters, and 429 with
Retry-After beyond it, so a busy tutor sheds load instead of piling up requests."""

from __future__ import annotations

import asyncio
import math
import threading
from collections.abc import AsyncIterator, Callable, Iterator


class QueueFull(Exception):
    def __init__(self, retry_after_s: int):
        super().__init__(f"The tutor is busy; retry in {retry_after_s} s.")
        self.retry_after_s = retry_after_s


class LLMGate:
    def __init__(self, concurrency: int, queue_size: int, typical_answer_s: float = 15.0):
        self.concurrency = concurrency
        self.queue_size = queue_size
        self._slots = asyncio.Semaphore(concurrency)
        self.running = 0
        self.waiting = 0
        self.typical_answer_s = typical_answer_s

    def retry_after(self) -> int:
        turns = (self.waiting + self.running) / self.concurrency
        return max(1, math.ceil(turns * self.typical_answer_s))

    async def acquire(self) -> None:
        if self.running >= self.concurrency and self.waiting >= self.queue_size:
            raise QueueFull(self.retry_after())
        self.waiting += 1
        try:
            await self._slots.acquire()
        finally:
            self.waiting -= 1
        self.running += 1

    def release(self, answer_s: float | None = None) -> None:
        self.running -= 1
        self._slots.release()
        if answer_s:  # a moving average keeps Retry-After honest
            self.typical_answer_s = 0.8 * self.typical_answer_s + 0.2 * answer_s


async def iterate_in_thread(
    make_events: Callable[[], Iterator], on_cancel: Callable[[], None] | None = None
) -> AsyncIterator:
    """Run a blocking generator in a worker thread and yield its items here.

    When the consumer stops early (client gone, task cancelled), the worker stops at the
    next item and closes the generator, which ends the model's generation."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue = asyncio.Queue()
    stop = threading.Event()
    done = object()

    def work() -> None:
        events = make_events()
        try:
            for item in events:
                if stop.is_set():
                    if on_cancel:
                        on_cancel()
                    break
                loop.call_soon_threadsafe(queue.put_nowait, item)
        except BaseException as exc:  # handed to the consumer, which re-raises it
            loop.call_soon_threadsafe(queue.put_nowait, exc)
        finally:
            close = getattr(events, "close", None)
            if close:
                close()
            loop.call_soon_threadsafe(queue.put_nowait, done)

    worker = loop.run_in_executor(None, work)
    try:
        while True:
            item = await queue.get()
            if item is done:
                break
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        await asyncio.shield(worker)
