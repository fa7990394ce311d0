"""The HTTP face: FastAPI routes, authentication and limits as dependencies, every
answer and every error a FHIR resource. The routes read like the operations; the rules
are in :mod:`api.service` and :mod:`api.notifications`.
"""

import base64
import gc
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import Annotated, Any
from urllib.parse import unquote

from fastapi import Depends, FastAPI, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.models import OAuthFlows
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from fastapi.security import OAuth2
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from api import fhir
from api.clients import Client
from api.fhir import FHIR_JSON, Invalid
from api.runtime import Runtime
from api.service import partner_role
from api.standard import (
    NHS_NUMBER_SYSTEM,
    NOTIFICATION_PATH,
    OPERATION_PATH,
    PARAM_PATIENT,
    PARAM_REASON,
    REASONS,
    TOKEN_PATH,
)
from api.tokens import TokenError, certificate_sha256
from graph.exchange import NOTIFIED

ACCEPTED_TYPES = ("application/fhir+json", "application/json")

bearer = OAuth2(
    flows=OAuthFlows(clientCredentials={"tokenUrl": TOKEN_PATH, "scopes": {}}),
    auto_error=False,
    description="OAuth2 client credentials: POST client_id and client_secret to "
    f"{TOKEN_PATH}, then send the token as 'Authorization: Bearer ...'.",
)

EXAMPLE_ENQUIRY = {
    "resourceType": "Parameters",
    "parameter": [
        {
            "name": PARAM_PATIENT,
            "resource": {
                "resourceType": "Patient",
                "identifier": [{"system": NHS_NUMBER_SYSTEM, "value": "9434765919"}],
                "name": [{"use": "official", "family": "Smith", "given": ["Jane"]}],
                "birthDate": "2015-05-01",
            },
        },
        {"name": PARAM_REASON, "valueUri": REASONS[0].uri},
    ],
}
_RESOURCE = {
    "type": "object",
    "properties": {"resourceType": {"type": "string"}},
    "required": ["resourceType"],
}
_FHIR_ERRORS = {
    str(code): {
        "description": text,
        "content": {FHIR_JSON: {"schema": {"$ref": "#/components/schemas/OperationOutcome"}}},
    }
    for code, text in (
        (400, "Malformed JSON, not the expected resource, unknown fields"),
        (401, "No valid access token"),
        (403, "The reason is outside the client's data-sharing agreement"),
        (413, "The body is larger than the limit"),
        (415, "Not FHIR JSON"),
        (422, "Valid FHIR, but the operation cannot take it (NHS number check, reason)"),
        (429, "Over the client's rate limit"),
        (503, "The graph is rebuilding its indexes after a restart: ask again shortly"),
    )
}


class DirectRoute(APIRoute):
    """A route whose endpoint takes the request alone and is called as it is: FastAPI's
    dependency solving and endpoint wrapping (about a third of the app's CPU for an
    enquiry, py-spy) are skipped. Its declared dependencies only describe it in the
    OpenAPI description; the endpoint does what they say itself (:func:`authorise`).
    FastAPI's documented extension point (``APIRoute.get_route_handler``)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        return self.endpoint


class Shortcut:
    """ASGI middleware: a ``POST`` to one path goes straight to its endpoint, past the
    framework's exception middleware, router and route matching (work the enquiry's
    one route does not need, done every request); anything else goes on through the app. The
    endpoint's :class:`Invalid` answers as the app's handler answers it; any other error
    reaches the server error middleware outside, as it would have. A path under a root
    path is not taken here, and is answered by the app's own route instead."""

    def __init__(
        self, app: ASGIApp, *, path: str, endpoint: Callable[[Request], Awaitable[Response]]
    ) -> None:
        self.app = app
        self.path = path
        self.endpoint = endpoint

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != self.path or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        try:
            response = await self.endpoint(Request(scope, receive, send))
        except Invalid as error:
            response = invalid_response(error)
        await response(scope, receive, send)


def invalid_response(error: Invalid) -> Response:
    """The :class:`Invalid` error as its ``OperationOutcome`` (503s say when to ask again)."""
    return outcome_response(error, {"Retry-After": "30"} if error.status == 503 else None)


def outcome_response(error: Invalid, headers: dict[str, str] | None = None) -> Response:
    return Response(
        fhir.dump(fhir.outcome(error.code, error.diagnostics)),
        status_code=error.status,
        media_type=FHIR_JSON,
        headers=headers,
    )


def settle_heap() -> None:
    """Leave what starting the server made out of the cycle collector's full passes: the
    libraries the API imports, the linkage model and FHIR's classes. A full pass walked
    them all while the event loop and every request on it stood still (the exchange
    API's section of benchmarks/README.md); frozen, it passes them by. They are still
    freed when nothing refers to them. For a server's entry point to call once its app
    is made (``jigsaw api``, each of its worker processes), never the app's factory: the
    collector is the process's, not a library's to tune."""
    gc.collect()
    gc.freeze()


def create_app(runtime: Runtime, *, start_inbox: bool = True) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if start_inbox:
            runtime.loader.start()
        yield
        if start_inbox:
            runtime.loader.stop()

    app = FastAPI(
        title="Jigsaw data exchange",
        version="0.3",
        description=(
            "Answers other agencies' systems following the DfE's draft Data Exchange "
            "Standard (FHIR R4): is this person known to you, for a lawful reason, at the "
            "level of detail the partner's data-sharing agreement allows. Every request "
            "is audited."
        ),
        lifespan=lifespan,
        openapi_tags=[{"name": "exchange"}, {"name": "auth"}],
        # Jigsaw configures no OpenTelemetry: left on, FastAPI asked the global
        # providers three times a request whether any was configured
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.runtime = runtime

    @app.exception_handler(Invalid)
    async def _invalid(request: Request, exc: Invalid) -> Response:
        return invalid_response(exc)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        code = "not-found" if exc.status_code == 404 else "processing"
        return outcome_response(Invalid(exc.status_code, code, str(exc.detail)))

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        return outcome_response(Invalid(400, "structure", problems[:500]))

    def cert_of(request: Request) -> str | None:
        header = runtime.api.client_cert_header
        if not header:
            return None
        value = request.headers.get(header)
        return certificate_sha256(value) if value else None

    async def authorise(request: Request) -> Client:
        """The registered, active client the bearer token names (and, for a token bound
        to a certificate, whose certificate the proxy passed); 401 otherwise. Over its
        rate limit: 429. Every partner route's one check."""
        try:
            scheme, _, token = request.headers.get("authorization", "").partition(" ")
            if scheme.lower() != "bearer" or not token:
                raise TokenError("send an access token: 'Authorization: Bearer ...'")
            claims = runtime.tokens.verify(token)
            client = runtime.clients.get(claims.client_id)
            if client is None or not client.active:
                raise TokenError("this client is not registered here, or was revoked")
            if claims.cert_sha256 and cert_of(request) != claims.cert_sha256:
                raise TokenError("this token is bound to a client certificate not presented")
        except TokenError as exc:
            error = Invalid(401, "login", str(exc))
            await runtime.exchange.refuse(None, error, extra=_where(request))
            raise error from None
        if not runtime.within_rate(client):
            error = Invalid(429, "throttled", f"over the agreed rate ({client.rate}); try later")
            await runtime.exchange.refuse(client, error, extra=_where(request))
            raise error
        return client

    async def caller(
        request: Request, authorization: Annotated[str | None, Depends(bearer)]
    ) -> Client:
        """:func:`authorise` as a dependency (``bearer`` describes the header in the
        OpenAPI description; ``authorise`` reads it)."""
        return await authorise(request)

    async def body_of(request: Request, client: Client) -> bytes:
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        limit = runtime.api.max_body_bytes
        try:
            if kind not in ACCEPTED_TYPES:
                raise Invalid(415, "not-supported", f"send {FHIR_JSON}, not {kind or 'nothing'}")
            declared = request.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > limit:
                raise Invalid(413, "too-long", f"the body is over the limit of {limit:,} bytes")
            chunks, size = [], 0
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise Invalid(413, "too-long", f"the body is over the limit of {limit:,} bytes")
                chunks.append(chunk)
        except Invalid as error:
            await runtime.exchange.refuse(client, error, extra=_where(request))
            raise
        return b"".join(chunks)

    async def person_info_query(request: Request) -> Response:
        client = await authorise(request)
        body = await body_of(request, client)
        request_id = request.headers.get("x-request-id") or uuid.uuid4().hex
        try:
            answer = await runtime.exchange.answer(client, body, request_id)
        except Invalid as error:
            extra = {**_where(request), "request": request_id}
            await runtime.exchange.refuse(client, error, extra=extra)
            raise
        return Response(answer, media_type=FHIR_JSON, headers={"x-request-id": request_id})

    app.add_middleware(Shortcut, path=OPERATION_PATH, endpoint=person_info_query)
    app.router.add_api_route(  # described, and answering under a root path
        OPERATION_PATH,
        person_info_query,
        methods=["POST"],
        route_class_override=DirectRoute,
        dependencies=[Depends(bearer)],  # described; authorise() checks it
        tags=["exchange"],
        summary="Is this person known to you? ($person-info-query)",
        response_class=Response,
        responses={
            200: {
                "description": "A Parameters resource: match, and as the agreement allows, "
                "the contact Organization and involvements (EpisodeOfCare)",
                "content": {FHIR_JSON: {"schema": {"$ref": "#/components/schemas/Parameters"}}},
            },
            **_FHIR_ERRORS,
        },
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    FHIR_JSON: {
                        "schema": {"$ref": "#/components/schemas/Parameters"},
                        "example": EXAMPLE_ENQUIRY,
                    }
                },
            }
        },
    )

    @app.post(
        NOTIFICATION_PATH,
        tags=["exchange"],
        summary="Tell us once: an involvement opened or closed, or an address changed",
        response_class=Response,
        status_code=202,
        responses={
            200: {"description": "Received before (the same id and content): nothing changes"},
            202: {"description": "Accepted; loaded with the next batch of notifications"},
            409: {"description": "The same id was received with other content"},
            **_FHIR_ERRORS,
        },
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {FHIR_JSON: {"schema": {"$ref": "#/components/schemas/Communication"}}},
            }
        },
    )
    async def communication(
        request: Request, client: Annotated[Client, Depends(caller)]
    ) -> Response:
        body = await body_of(request, client)
        try:
            if not client.may_notify:
                raise Invalid(403, "forbidden", "your agreement does not cover notifications")
            received = await run_in_threadpool(runtime.inbox.accept, client, body)
        except Invalid as error:
            await runtime.exchange.refuse(client, error, extra=_where(request))
            raise
        await runtime.exchange.trail.record(
            user=client.client_id,
            role=partner_role(client),
            action=NOTIFIED,
            detail={
                "notification": received.notification,
                "kind": received.kind,
                "duplicate": received.duplicate,
            },
        )
        if not received.duplicate:
            runtime.loader.notify()
        text = "received before; nothing changes" if received.duplicate else "accepted for loading"
        return Response(
            fhir.dump(
                fhir.outcome(
                    "informational",
                    f"notification {received.notification!r} {text}",
                    severity="information",
                )
            ),
            status_code=200 if received.duplicate else 202,
            media_type=FHIR_JSON,
        )

    @app.post(TOKEN_PATH, tags=["auth"], summary="OAuth2 client credentials grant")
    async def token(
        request: Request,
        grant_type: Annotated[str, Form()],
        client_id: Annotated[str | None, Form()] = None,
        client_secret: Annotated[str | None, Form()] = None,
    ) -> JSONResponse:
        basic = _basic(request.headers.get("authorization"))
        if basic is not None:
            client_id, client_secret = basic
        if grant_type != "client_credentials":
            return _oauth_error(400, "unsupported_grant_type", "only client_credentials")
        try:
            cert = cert_of(request)
        except TokenError as exc:
            return _oauth_error(401, "invalid_client", str(exc))
        client = await run_in_threadpool(_authenticate, runtime, client_id, client_secret, cert)
        if client is None:
            error = Invalid(401, "login", "client authentication failed")
            await runtime.exchange.refuse(
                None, error, client_id=(client_id or "")[:40], extra=_where(request)
            )
            return _oauth_error(401, "invalid_client", "client authentication failed")
        if client.cert_sha256 and not runtime.api.client_cert_header:
            return _oauth_error(
                401,
                "invalid_client",
                "this client is bound to a certificate, and this server trusts no proxy header",
            )
        access, seconds = runtime.tokens.issue(client.client_id, client.cert_sha256)
        return JSONResponse(
            {"access_token": access, "token_type": "Bearer", "expires_in": seconds},
            headers={"Cache-Control": "no-store"},
        )

    @app.get("/health", tags=["auth"], summary="Whether the API and its graph answer")
    async def health() -> dict[str, Any]:
        state = await run_in_threadpool(runtime.store.health)
        ready = state.ok and await run_in_threadpool(runtime.store.indexes_ready)
        return {
            "ok": state.ok,
            "indexes_ready": ready,
            "probabilistic_matching": runtime.exchange.matcher.scorer is not None,
            "notifications_loaded": runtime.loader.loaded,
        }

    _add_fhir_schemas(app)
    return app


def _authenticate(
    runtime: Runtime, client_id: str | None, secret: str | None, cert: str | None
) -> Client | None:
    """By secret (client_secret_basic or _post), or by the certificate alone where the
    client registered one and the proxy vouches for it (RFC 8705 tls_client_auth)."""
    if not client_id:
        return None
    if secret:
        client = runtime.clients.authenticate(client_id, secret)
        if client is not None and client.cert_sha256 and cert != client.cert_sha256:
            return None
        return client
    client = runtime.clients.get(client_id)
    if client is not None and client.active and client.cert_sha256 and cert == client.cert_sha256:
        return client
    return None


def _basic(header: str | None) -> tuple[str, str] | None:
    scheme, _, value = (header or "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, _, password = base64.b64decode(value).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return None
    return unquote(user), unquote(password)


def _oauth_error(status: int, error: str, description: str) -> JSONResponse:
    return JSONResponse(
        {"error": error, "error_description": description},
        status_code=status,
        headers={"Cache-Control": "no-store"},
    )


def _where(request: Request) -> dict[str, Any]:
    return {"path": request.url.path}


def _add_fhir_schemas(app: FastAPI) -> None:
    """The resources the routes take and give, as loose JSON schemas in the OpenAPI
    description (``fhir.resources`` validates them in full)."""
    original = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = original()
        schemas = schema.setdefault("components", {}).setdefault("schemas", {})
        for name in ("Parameters", "OperationOutcome", "Communication"):
            schemas[name] = {**_RESOURCE, "title": name}
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
