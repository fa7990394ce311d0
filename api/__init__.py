"""Jigsaw's answer to other agencies: the data exchange API.

A FHIR R4 facade (FastAPI, ``fhir.resources`` models) over the graph, following the
DfE's draft Data Exchange Standard: partners registered by a data-sharing agreement ask
"is this child known to you?" (``$person-info-query``) and tell us of changes
(``Communication``); every exchange is audited. Reads go through ``graph.exchange``;
notifications are loaded by the loaders, as any extract is.
"""
