"""Property-based tests of the exchange API from its own OpenAPI description
(schemathesis): requests generated from the described operations, with a valid token
and without one, are answered without a server error, and every error is a FHIR
``OperationOutcome`` (or, for the token endpoint, OAuth2's error body). Modest example
counts keep it quick; the app runs in process over the loaded small county."""

from __future__ import annotations

import json
import shutil

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from api.app import create_app
from api.runtime import build_runtime
from api.settings import ApiSettings, model_path
from api.standard import NOTIFICATION_PATH, OPERATION_PATH, REASONS, TOKEN_PATH
from graph import load_settings

EXAMPLES = 40  # per operation


@pytest.fixture(scope="module")
def served(loaded_county, engine_dir, tmp_path_factory):
    data = tmp_path_factory.mktemp("api_properties")
    graph_settings = load_settings(data_dir=data)
    model = model_path(graph_settings)
    model.parent.mkdir(parents=True)
    shutil.copy(engine_dir / "loads" / model.name, model)
    runtime = build_runtime(graph_settings, ApiSettings(), store=loaded_county.store)
    registered = runtime.clients.add(
        "Property tests",
        [r.uri for r in REASONS],
        "involvements",
        rate="100000/minute",
        may_notify=True,
    )
    app = create_app(runtime, start_inbox=False)
    token, _ = runtime.tokens.issue(registered.client.client_id, None)
    return app, runtime, token


SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)


def _operations(app):
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {f"{o.method.upper()} {o.path}" for o in operations} >= {
        f"POST {OPERATION_PATH}",
        f"POST {NOTIFICATION_PATH}",
        f"POST {TOKEN_PATH}",
    }
    return operations


def _no_server_error(case, headers: dict[str, str]) -> None:
    response = case.call(headers=headers)
    assert response.status_code < 500, response.text
    if response.status_code >= 400 and case.path != TOKEN_PATH:
        body = json.loads(response.text)
        assert body["resourceType"] == "OperationOutcome", body
        assert body["issue"][0]["diagnostics"]


@pytest.mark.parametrize("authorised", [True, False], ids=["with-token", "without-token"])
def test_no_request_the_description_allows_is_a_server_error(served, authorised):
    app, _, token = served
    headers = {"Authorization": f"Bearer {token}"} if authorised else {}
    for operation in _operations(app):

        @given(case=operation.as_strategy())
        @SETTINGS
        def no_server_error(case) -> None:
            _no_server_error(case, headers)

        no_server_error()
