"""One generation at a time (or `llm_concurrency`), a bounded line of waiters, and 429 with
Retry-After beyond it, so a busy tutor sheds load instead of piling up requests.

`model_events` is the only place a model slot is taken and given back: it is taken when
the answer's body starts (a response abandoned before that never holds one) and given back
when the model's worker thread ends (a slow or vanished reader never holds one either)."""

from __future__ import annotations

import asyncio
import math
import threading
import time
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

    def check_room(self) -> None:
        """QueueFull when the line is full: asked before a response starts, so a request
        that would only wait in vain gets its 429 as a status, not inside a stream."""
        if self.running >= self.concurrency and self.waiting >= self.queue_size:
            raise QueueFull(self.retry_after())

    async def acquire(self) -> None:
        self.check_room()
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


async def model_events(
    gate: LLMGate,
    make_events: Callable[[], Iterator],
    on_cancel: Callable[[], None] | None = None,
) -> AsyncIterator:
    """Wait for a model slot, run the blocking generator `make_events()` in a worker thread
    and yield its items here.

    The slot is held exactly while the worker runs. The worker never waits for the reader
    (its queue is unbounded), so the slot comes back when the model is done, however slowly
    the client reads. When the reader stops early (client gone, task cancelled), the worker
    stops at its next item and closes the generator, which ends the model's generation."""
    await gate.acquire()
    # No await between acquiring and handing the release to the worker's future: nothing
    # can cancel this coroutine in between.
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue = asyncio.Queue()
    stop = threading.Event()
    done = object()
    started = time.perf_counter()

    def work() -> None:
        events = make_events()
        try:
            for item in events:
                if stop.is_set():
                    if on_cancel:
                        on_cancel()
                    break
                loop.call_soon_threadsafe(queue.put_nowait, item)
        except BaseException as exc:  # handed to the reader, which re-raises it
            loop.call_soon_threadsafe(queue.put_nowait, exc)
        finally:
            close = getattr(events, "close", None)
            if close:
                close()
            loop.call_soon_threadsafe(queue.put_nowait, done)

    worker = loop.run_in_executor(None, work)
    # Future callbacks run on the event loop, where the semaphore lives.
    worker.add_done_callback(lambda _: gate.release(time.perf_counter() - started))
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
