"""The app's server process: Streamlit's own command line (``streamlit run ...``), started
once the pages' modules are imported and the graph's store is open.

Streamlit runs the page script only when a session connects, so on a fresh server the
first person to open the sign-in form waited while every page's modules were imported
(pandas, altair, Splink, fhir.resources) and then, signing in, while the embedded
engine started (figures in benchmarks/README.md). Done here, before the server listens, the script's
imports find the modules loaded and its store already cached; the server's health
check answers once it is ready.

Python's collector is then told to leave what the start loaded alone (``gc.freeze``: every
full collection would otherwise walk it) and to look at new objects less often: the
pages that list a county (transitions, and the lists and maps like it) make hundreds of
thousands of objects a run, and the collector's passes over them were a large share of
such a page's CPU (benchmarks/README.md, "The app's pages").

A stop signal (SIGTERM) that arrives before Streamlit has set its own handler (it does so
only after it starts listening) ends the process through its exit handlers, which stop
the embedded engine it started, instead of killing it and leaving the engine running.
"""

from __future__ import annotations

import gc
import importlib
import logging
import pkgutil
import signal
import sys
from types import FrameType

log = logging.getLogger(__name__)
# new objects between the collector's youngest passes (Python's default is 700)
GC_YOUNGEST = 20_000


def warm() -> None:
    """Import every page's module, and open the store the pages share (its cache is the
    one their runs read). A store that cannot be opened now is left to the pages, which
    say why to the person using them."""
    from ui.app import context, screens

    for module in pkgutil.iter_modules(screens.__path__):
        importlib.import_module(f"{screens.__name__}.{module.name}")
    try:
        context.store()
    except Exception as exc:  # the engine is down or misconfigured: the page will say so
        log.warning("the graph's store could not be opened before serving: %s", exc)


def _exit(signum: int, _frame: FrameType | None) -> None:
    """Leave as an uncaught exit does, so the exit handlers run (the engine stops)."""
    raise SystemExit(128 + signum)


def main() -> None:
    signal.signal(signal.SIGTERM, _exit)  # Streamlit replaces it once it serves
    from streamlit.web import cli

    warm()
    gc.freeze()
    gc.set_threshold(GC_YOUNGEST, *gc.get_threshold()[1:])
    sys.argv = ["streamlit", *sys.argv[1:]]
    cli.main(prog_name="streamlit")


if __name__ == "__main__":
    main()
