"""Write the county's statutory returns and their truth (``jigsaw generate --returns``).

The returns come from the same true population as the county's own extracts, so a
child in the CIN census is the child the case system's extract and the school census
describe. They go under ``returns/`` (one directory per return, named as councils
keep them); their rows' truth joins ``truth/source_rows.csv`` and the detail they hold
is in ``truth/returns/``. A county generated without returns is unchanged: the
returns draw from their own random stream.
"""

from __future__ import annotations

import random
from pathlib import Path

from synthetic.extracts import Writers
from synthetic.mess import SourceMess
from synthetic.model import County
from synthetic.returns.annex_a_csc import AnnexACsc
from synthetic.returns.cin_census import CinCensus
from synthetic.returns.history import History, Returns
from synthetic.returns.send import AnnexASend, SchoolCensus, Sen2
from synthetic.returns.ssd import Ssd
from synthetic.returns.ssda903 import Ssda903
from synthetic.returns.truth import write_returns_truth

RETURNS_MESS = {
    "ssda903": SourceMess(invalid_check_digit=0.01, duplicate_row=0.005),
    "cin_census": SourceMess(invalid_check_digit=0.01),
    "annex_a": SourceMess(invalid_check_digit=0.01, missing_id=0.05, duplicate_row=0.005),
    "sen2": SourceMess(typo=0.01, invalid_check_digit=0.005),
    "school_census": SourceMess(typo=0.002, invalid_check_digit=0.002, duplicate_row=0.002),
    "ssd": SourceMess(invalid_check_digit=0.01),
    "annex_a_csc": SourceMess(missing_id=0.005, duplicate_row=0.005),
}


def write_returns(county: County, writers: Writers, out: Path, seed: int) -> Returns:
    """The returns' files under ``out/returns`` and their detail under ``out/truth``."""
    history = History(county, seed).build()
    for name, kind in (
        ("ssda903", Ssda903),
        ("cin_census", CinCensus),
        ("annex_a", AnnexASend),
        ("sen2", Sen2),
        ("school_census", SchoolCensus),
        ("ssd", Ssd),
        ("annex_a_csc", AnnexACsc),  # last: the others' children have their ids by now
    ):
        rng = random.Random(f"{seed}:{name}")
        kind(county, writers, history, out, writers.sink, rng, RETURNS_MESS[name]).write()
    write_returns_truth(county, writers, history, out / "truth" / "returns")
    return history
