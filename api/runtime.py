"""Everything one API process holds, made from the settings once."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from api.clients import Client, Clients
from api.matching import Matcher
from api.notifications import MAPPINGS, Inbox, InboxLoader
from api.ratelimit import RateLimiter, worker_share
from api.service import Exchange
from api.settings import ApiSettings, api_dir, model_path
from api.tokens import TokenIssuer
from graph import open_store
from graph.access.audit import audit_log
from graph.engines.async_reads import async_reads
from graph.settings import Settings
from graph.store import GraphStore
from loaders.scoring import Scorer


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
    limiter: RateLimiter

    def within_rate(self, client: Client) -> bool:
        return self.limiter.hit(worker_share(client.rate, self.api.workers), client.client_id)

    def close(self) -> None:
        self.loader.stop()
        self.store.close()


def build_runtime(
    settings: Settings, api: ApiSettings, *, store: GraphStore | None = None
) -> Runtime:
    """The API over the graph the settings name (or ``store``, for tests)."""
    store = store or open_store(settings)
    directory = api_dir(settings)
    audit = audit_log(settings.data_dir, settings.audit_syslog)  # the app's trail, witnessed
    scorer = Scorer.load(model_path(settings))
    reads = async_reads(store)
    matcher = Matcher(reads, scorer, limit=api.candidate_limit)
    inbox = Inbox(directory)
    loader = InboxLoader(inbox, _inbox_load(settings), api.inbox_delay_s)
    return Runtime(
        settings=settings,
        api=api,
        store=store,
        exchange=Exchange(reads, matcher, api, audit),
        clients=Clients(directory / "clients.json"),
        tokens=TokenIssuer(directory, api.token_minutes),
        inbox=inbox,
        loader=loader,
        # a sliding window counter: constant work a request, where a moving window's
        # grows with the rate allowed
        limiter=RateLimiter(),
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
