"""The app's server process: Streamlit's own command line (``streamlit run ...``), started
once the pages' modules are imported and the graph's store is open.

Streamlit runs the page script only when a session connects, so on a fresh server the
first person to open the sign-in form waited while every page's modules were imported
(pandas, altair, Splink, fhir.resources) and then, signing in, while the embedded
engine started (figures in benchmarks/README.md). Done here, before the server listens, the script's
imports find the modules loaded and its store already cached; the server's health
check answers once it is ready.
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
import sys

log = logging.getLogger(__name__)


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


def main() -> None:
    from streamlit.web import cli

    warm()
    sys.argv = ["streamlit", *sys.argv[1:]]
    cli.main(prog_name="streamlit")


if __name__ == "__main__":
    main()
