"""What every return writer shares: the county, its history, identifiers and mess."""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

from synthetic.extracts import Writers
from synthetic.mess import Defect, Mess, SourceMess
from synthetic.model import County, Person
from synthetic.returns.history import Returns
from synthetic.returns.xmlout import XmlOut
from synthetic.writer import RowTruth, TruthSink

SEX_903 = {"M": "1", "F": "2"}


class ReturnWriter:
    def __init__(
        self,
        county: County,
        writers: Writers,
        history: Returns,
        root: Path,
        sink: TruthSink,
        rng: random.Random,
        mess: SourceMess,
    ) -> None:
        self.county = county
        self.writers = writers
        self.history = history
        self.root = root
        self.sink = sink
        self.rng = rng
        self.mess_rates = mess
        self.mess = Mess(rng, county.as_of)

    def person(self, pid: str) -> Person:
        return self.county.by_person[pid]

    def la_id(self, pid: str) -> str:
        return self.writers.la_id(self.person(pid))

    def hit(self, rate: float) -> bool:
        return rate > 0 and self.rng.random() < rate

    def upn(self, person: Person, field: str, log: list[Defect]) -> str:
        """The UPN as a return holds it: an "unknown" code where there is none."""
        written = self.mess.identifier(person.upn, field, self.mess_rates, log, missing=0.0)
        if written:
            return written
        return "UN1" if person.age_on(self.county.as_of) < 5 else "UN2"

    def postcode(self, postcode: str, field: str, log: list[Defect]) -> str:
        """Written as people type them: sometimes without the space, now and then only
        the outward half (which is not a postcode, and is dropped with a reason)."""
        if not postcode:
            return ""
        if self.hit(0.01):
            written = postcode.split(" ")[0]
            log.append(Defect(field, "partial_postcode", postcode, written))
            return written
        if self.hit(0.05):
            return postcode.replace(" ", "").lower()
        return postcode

    def xml_truth(
        self,
        source: str,
        relpath: str,
        line: int,
        pid: str | None,
        *,
        entity: str = "",
        key: str = "",
        defects: list[Defect] | None = None,
    ) -> None:
        """One row's truth for a file written by :class:`XmlOut` (rows are lines)."""
        kinds = [d.kind for d in defects or []]
        self.sink.source_rows.append(
            [source, relpath, str(line), pid or "", entity, key, "", ";".join(kinds)]
        )
        for d in defects or []:
            self.sink.defects.append(
                [source, relpath, str(line), d.field, d.kind, d.true_value, d.written_value]
            )

    def xml_row(self, source: str, relpath: str, line: int, truth: RowTruth) -> None:
        """The truth of one row written from a CSV row's truth."""
        self.xml_truth(
            source,
            relpath,
            line,
            truth.person,
            entity=truth.entity,
            key=truth.key,
            defects=truth.defects,
        )

    def open_message(self, out: XmlOut, collection: str) -> None:
        """A DfE XML return's start: its header, then the collection is the caller's."""
        out.open("Message")
        out.open("Header")
        out.open("CollectionDetails")
        out.leaf("Collection", collection)
        out.leaf("Year", self.history.as_of.year)
        out.leaf("ReferenceDate", self.history.as_of)
        out.close("CollectionDetails")
        out.open("Source")
        out.leaf("SourceLevel", "L")
        out.leaf("LEA", self.county.la_code)
        out.close("Source")
        out.close("Header")

    def finish_xml(self, out: XmlOut, relpath: str, rows: int) -> None:
        out.write(self.root / relpath)
        self.sink.files[relpath] = rows


def dmy(day: dt.date | None) -> str:
    return day.strftime("%d/%m/%Y") if day else ""
