"""Inbound "tell us once" notifications: a partner's ``Communication`` becomes a row of
the ``partner_notifications`` source and is loaded by the loaders, as any extract is.

A notification is checked on arrival by the loaders' own reader and validator (the
same mapping, the same file the load will read), so a bad one is refused with the
validator's reason, not accepted and quarantined later. Accepted ones wait in the
inbox and are loaded together (:class:`InboxLoader`): linkage joins them to the people
already known, and the load raises the same alerts any load does. The notification's
id (with the partner's) names its file, so sending it again changes nothing.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import logging
import os
import shutil
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fhir.resources.R4B.communication import Communication
from fhir.resources.R4B.episodeofcare import EpisodeOfCare
from fhir.resources.R4B.patient import Patient

from api.clients import Client
from api.fhir import Invalid, address_uprn, enquiry_from_patient, read_json, validated
from api.standard import (
    CASE_KIND_SYSTEM,
    NOTIFICATION_KINDS,
    NOTIFICATION_SYSTEM,
    REASONS,
)
from graph.files import file_lock
from loaders.extracts import Extract, read_extract
from loaders.mapping import load_mapping

log = logging.getLogger(__name__)

SOURCE = "partner_notifications"
# not a shipped loader mapping: a council's extracts never hold it, so `jigsaw load`
# does not look for it; the inbox loads with this directory alone
MAPPINGS = Path(__file__).parent / "mappings"
MAPPING = MAPPINGS / f"{SOURCE}.yaml"
COLUMNS = (
    "Partner",
    "Notification",
    "NHS Number",
    "Given Name",
    "Family Name",
    "Date of Birth",
    "Sex",
    "UPRN",
    "Address",
    "Town",
    "Postcode",
    "Moved In",
    "Involvement Ref",
    "Involvement",
    "Started",
    "Ended",
    "Reported By",
)


@dataclass(frozen=True)
class Received:
    key: str
    kind: str
    notification: str
    duplicate: bool


def read_notification(body: bytes, client: Client) -> tuple[str, str, dict[str, str]]:
    """(notification id, kind, the source row) from a Communication; :class:`Invalid`
    with why otherwise."""
    message: Communication = validated(Communication, read_json(body))
    ids = [i.value for i in message.identifier or [] if i.value]
    if not ids:
        raise Invalid(422, "required", "a notification needs an identifier (its id)")
    codes = [
        c.code
        for c in (message.topic.coding if message.topic else None) or []
        if c.system == NOTIFICATION_SYSTEM
    ]
    kind = next((c for c in codes if c in NOTIFICATION_KINDS), None)
    if kind is None:
        raise Invalid(
            422,
            "code-invalid",
            f"topic must be one of {', '.join(NOTIFICATION_KINDS)} ({NOTIFICATION_SYSTEM})",
        )
    contained = {r.id: r for r in message.contained or [] if r.id}
    patient = _contained(contained, message.subject, Patient, "subject (a contained Patient)")
    person = enquiry_from_patient(patient, REASONS[0].uri)
    if not (person.given and person.family and person.dob):
        raise Invalid(
            422, "required", "the Patient needs a given name, a family name and a birth date"
        )
    row = {c: "" for c in COLUMNS}
    row.update(
        {
            "Partner": client.client_id,
            "Notification": ids[0],
            "NHS Number": person.nhs,
            "Given Name": person.given,
            "Family Name": person.family,
            "Date of Birth": person.dob,
            "Sex": person.sex,
            "Reported By": f"reported by {client.organisation}",
        }
    )
    if kind == "address-changed":
        address = next((a for a in patient.address or [] if a.postalCode), None)
        moved = address.period.start if address is not None and address.period else None
        if address is None or moved is None:
            raise Invalid(
                422, "required", "an address change needs the new address with its period.start"
            )
        row.update(
            {
                "UPRN": address_uprn(address),
                "Address": ", ".join(address.line or []),
                "Town": address.city or "",
                "Postcode": address.postalCode or "",
                "Moved In": str(moved)[:10],
            }
        )
    else:
        payload = (message.payload or [None])[0]
        episode = _contained(
            contained,
            payload.contentReference if payload is not None else None,
            EpisodeOfCare,
            "payload.contentReference (a contained EpisodeOfCare)",
        )
        refs = [i.value for i in episode.identifier or [] if i.value]
        kinds = [
            c.code
            for t in episode.type or []
            for c in t.coding or []
            if c.system == CASE_KIND_SYSTEM
        ]
        start = episode.period.start if episode.period else None
        end = episode.period.end if episode.period else None
        if not refs or not kinds or start is None:
            raise Invalid(
                422,
                "required",
                f"the EpisodeOfCare needs an identifier, a type from {CASE_KIND_SYSTEM} and "
                "period.start",
            )
        if (kind == "involvement-closed") != (end is not None):
            raise Invalid(
                422, "value", "period.end is given when an involvement closes, and only then"
            )
        row.update(
            {
                "Involvement Ref": f"{client.client_id}:{refs[0]}",
                "Involvement": kinds[0],
                "Started": str(start)[:10],
                "Ended": str(end)[:10] if end else "",
            }
        )
    return ids[0], kind, row


def _contained(contained: dict[str, Any], ref: Any, model: type, what: str) -> Any:
    target = (ref.reference or "") if ref is not None else ""
    found = contained.get(target.removeprefix("#")) if target.startswith("#") else None
    if not isinstance(found, model):
        raise Invalid(422, "required", f"the notification needs {what}")
    return found


class Inbox:
    """Notifications received and waiting to be loaded, in the API's directory."""

    def __init__(self, directory: Path, today: Callable[[], dt.date] = dt.date.today) -> None:
        self.root = Path(directory) / "inbox"
        self.pending = self.root / "pending"
        self.received = self.root / "received"
        self.today = today
        self.mapping = load_mapping(MAPPING)

    def accept(self, client: Client, body: bytes) -> Received:
        notification, kind, row = read_notification(body, client)
        key = hashlib.sha256(f"{client.client_id}\x1f{notification}".encode()).hexdigest()[:32]
        digest = hashlib.sha256(json.dumps(row, sort_keys=True).encode()).hexdigest()
        with self._lock():
            marker = self.received / f"{key}.json"
            if marker.exists():
                if json.loads(marker.read_text())["digest"] != digest:
                    raise Invalid(
                        409,
                        "conflict",
                        f"notification {notification!r} was received before with other content",
                    )
                return Received(key, kind, notification, duplicate=True)
            staged = self._check(key, row)
            target = self.pending / SOURCE / f"{key}.csv"
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staged, target)
            self.received.mkdir(parents=True, exist_ok=True)
            marker.write_text(
                json.dumps(
                    {
                        "digest": digest,
                        "notification": notification,
                        "client": client.client_id,
                        "kind": kind,
                    }
                )
            )
        return Received(key, kind, notification, duplicate=False)

    def _check(self, key: str, row: dict[str, str]) -> Path:
        """The row as the file the load will read, read and validated as the load will."""
        staging = self.root / "staging"
        staging.mkdir(parents=True, exist_ok=True)
        path = staging / f"{key}.csv"
        text = io.StringIO()
        writer = csv.DictWriter(text, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerow(row)
        path.write_text(text.getvalue(), encoding="utf-8")
        outcome = read_extract(Extract(self.mapping, path, f"{SOURCE}/{key}.csv"), self.today())
        if outcome.quarantined or not outcome.records:
            path.unlink(missing_ok=True)
            why = outcome.quarantined[0].reason if outcome.quarantined else "nothing usable"
            raise Invalid(422, "value", f"the notification cannot be loaded: {why}")
        return path

    def take_batch(self) -> Path | None:
        """Move what is pending into a batch directory of its own (the load's input)."""
        with self._lock():
            files = sorted((self.pending / SOURCE).glob("*.csv"))
            if not files:
                return None
            batch = self.root / "batches" / uuid.uuid4().hex[:12]
            (batch / SOURCE).mkdir(parents=True)
            for f in files:
                os.replace(f, batch / SOURCE / f.name)
            return batch

    @contextmanager
    def _lock(self) -> Iterator[None]:
        """Receiving and batching, one at a time across the API's worker processes."""
        self.root.mkdir(parents=True, exist_ok=True)
        with file_lock(self.root / ".receive.lock"):
            yield

    @contextmanager
    def loading(self) -> Iterator[None]:
        """One loader at a time takes and loads batches (each worker process runs one)."""
        self.root.mkdir(parents=True, exist_ok=True)
        with file_lock(self.root / ".load.lock"):
            yield

    def batches(self) -> list[Path]:
        return sorted((self.root / "batches").glob("*")) if (self.root / "batches").exists() else []

    def done(self, batch: Path) -> None:
        loaded = self.root / "loaded"
        loaded.mkdir(parents=True, exist_ok=True)
        shutil.move(str(batch), str(loaded / batch.name))


class InboxLoader:
    """Loads waiting notifications together, a little after they arrive, on one thread.

    ``load`` is the loaders' ``run_load`` bound to a store of its own (a load stretches
    its store's time limits, which the API's reads must keep)."""

    def __init__(self, inbox: Inbox, load: Callable[[Path], Any], delay_s: float) -> None:
        self.inbox = inbox
        self.load = load
        self.delay_s = delay_s
        self._wake = threading.Event()
        self._stop = threading.Event()
        self.loaded = 0  # batches loaded, for tests and the health answer
        self._thread = threading.Thread(target=self._run, name="jigsaw-inbox", daemon=True)

    def start(self) -> None:
        self._thread.start()
        self._wake.set()  # whatever an earlier run left

    def notify(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():  # never started (tests, or a runtime closed early)
            self._thread.join(timeout=600)

    def run_once(self) -> int:
        """Load every waiting batch now; how many were loaded."""
        count = 0
        with self.inbox.loading():
            self.inbox.take_batch()
            for batch in self.inbox.batches():
                self.load(batch)
                self.inbox.done(batch)
                count += 1
        self.loaded += count
        return count

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait()
            self._wake.clear()
            if self._stop.wait(self.delay_s):
                return
            try:
                self.run_once()
            except Exception:  # the batch stays for the next run; the API keeps answering
                log.exception("loading partner notifications failed; will try again")
