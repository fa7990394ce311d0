"""Everything one API process holds, made from the settings once."""

from __future__ import annotations

import datetime as dt
import functools
import time
from dataclasses import dataclass
from pathlib import Path

from limits import RateLimitItem
from limits import parse as parse_rate
from limits.storage import MemoryStorage
from limits.strategies import SlidingWindowCounterRateLimiter

from api.clients import Client, Clients
from api.matching import Matcher
from api.notifications import MAPPINGS, Inbox, InboxLoader
from api.service import Exchange
from api.settings import ApiSettings, api_dir, model_path
from api.tokens import TokenIssuer
from graph import open_store
from graph.access.audit import audit_log
from graph.settings import Settings
from graph.store import GraphStore
from loaders.scoring import Scorer


class SweptMemory(MemoryStorage):
    """``limits``' in-memory counters with their expired entries swept in line, at most
    once a second, instead of by the timer thread the library starts again up to 100
    times a second (about 3% of the API's time). The counters a sliding window reads
    are expired on reading either way; the sweep only bounds the memory of old ones."""

    SWEEP_S = 1.0

    def __init__(self) -> None:
        super().__init__()
        self.timer.cancel()
        self._swept = time.monotonic()

    def _MemoryStorage__schedule_expiry(self) -> None:  # replaces the library's timer
        now = time.monotonic()
        if now - self._swept >= self.SWEEP_S:
            self._swept = now
            self._MemoryStorage__expire_events()  # type: ignore[attr-defined]


@dataclass
class Runtime:
    settings: Settings
    api: ApiSettings
    store: GraphStore
    exchange: Exchange
    clients: Clients
    tokens: TokenIssuer
    inbox: Inbox
    loader: InboxLoader
    limiter: SlidingWindowCounterRateLimiter

    def within_rate(self, client: Client) -> bool:
        return self.limiter.hit(worker_share(client.rate, self.api.workers), client.client_id)

    def close(self) -> None:
        self.loader.stop()
        self.store.close()


@functools.lru_cache(maxsize=4096)
def worker_share(rate: str, workers: int) -> RateLimitItem:
    """A client's agreed rate as each of ``workers`` processes enforces it. Each counts
    only the requests it serves, so each allows its share: a client never gets more than
    its agreement, and one whose requests all reach one worker gets that worker's share."""
    item = parse_rate(rate)
    if workers == 1:
        return item
    return type(item)(max(1, item.amount // workers), item.multiples)


def build_runtime(
    settings: Settings, api: ApiSettings, *, store: GraphStore | None = None
) -> Runtime:
    """The API over the graph the settings name (or ``store``, for tests)."""
    store = store or open_store(settings)
    directory = api_dir(settings)
    audit = audit_log(settings.data_dir, settings.audit_syslog)  # the app's trail, witnessed
    scorer = Scorer.load(model_path(settings))
    matcher = Matcher(store, scorer, limit=api.candidate_limit)
    inbox = Inbox(directory)
    loader = InboxLoader(inbox, _inbox_load(settings), api.inbox_delay_s)
    return Runtime(
        settings=settings,
        api=api,
        store=store,
        exchange=Exchange(store, matcher, api, audit),
        clients=Clients(directory / "clients.json"),
        tokens=TokenIssuer(directory, api.token_minutes),
        inbox=inbox,
        loader=loader,
        # a sliding window counter: constant work a request, where a moving window's
        # grows with the rate allowed
        limiter=SlidingWindowCounterRateLimiter(SweptMemory()),
    )


def _inbox_load(settings: Settings):
    def load(batch: Path) -> None:
        from loaders.load import run_load

        store = open_store(settings)  # its own: a load stretches its store's time limits
        try:
            run_load(
                store,
                batch,
                mappings=MAPPINGS,
                as_of=dt.date.today(),
                loads_dir=settings.data_dir / "loads",
                linkage_memory=settings.linkage_memory,
                read_workers=1,
                bulk=settings.bulk_write,
                keep_model=False,
            )
        finally:
            store.close()

    return load
