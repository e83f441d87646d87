"""The v1 API object, the Blueprint base class, and the one problem+json error handler.

Every error leaves as ``application/problem+json`` (RFC 9457) with ``type``, ``title``,
``status`` and ``detail``; validation errors add ``errors`` (field -> messages) and
unmet prerequisites add ``unmet`` (rule ids). That covers routing (404/405), bodies
that are not JSON (400/415), oversized bodies (413), and anything unexpected (500,
logged without its message, which could quote patient data).
"""

from __future__ import annotations

import functools
import logging
import traceback
from collections.abc import Callable, Mapping
from http import HTTPStatus
from json import JSONDecodeError
from types import SimpleNamespace
from typing import Any, TypeVar, cast

import flask_smorest
import marshmallow as ma
from flask import Flask, Response, json, request
from flask_smorest.pagination import PaginationMetadataSchema, PaginationParameters
from flask_smorest.utils import prepare_response
from sqlalchemy import Select, func, inspect, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as SATimeoutError
from sqlalchemy.orm import Session
from webargs.flaskparser import FlaskParser
from werkzeug.exceptions import HTTPException, InternalServerError, UnsupportedMediaType
from werkzeug.routing import IntegerConverter

from scheduler import metrics
from scheduler.context import session
from scheduler.db import is_database_away, is_transient_conflict
from scheduler.errors import DomainError, PrerequisitesUnmet, flatten_errors
from scheduler.redaction import loggable_path

log = logging.getLogger(__name__)

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])
# What a list view returns: a service's statement, of which ``listing`` runs one page.
Statement = Select
SchemaArg = type[ma.Schema] | ma.Schema

PROBLEM_JSON = "application/problem+json"
PROBLEM_TYPE_BASE = "/api/v1/problems/"
JSON_METHODS = frozenset({"POST", "PUT", "PATCH"})


def problem(
    status: int,
    detail: str,
    *,
    slug: str | None = None,
    title: str | None = None,
    headers: Mapping[str, str] | None = None,
    **extensions: Any,
) -> Response:
    """A problem+json response; ``slug`` None means a plain HTTP problem (about:blank)."""
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + slug if slug else "about:blank",
        "title": title or HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        **extensions,
    }
    response = Response(json.dumps(body), status=status, mimetype=PROBLEM_JSON)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _validation_problem(error: HTTPException) -> Response:
    data = getattr(error, "data", None) or {}
    messages = data.get("messages") or data.get("errors") or {}
    if error.code == 400 and messages.get("json") == ["Invalid JSON body."]:
        return problem(400, "The request body is not valid JSON.", slug="malformed-json")
    # webargs keys messages by location (json, query, ...); one location is the norm.
    if len(messages) == 1:
        (messages,) = messages.values()
    return problem(
        422,
        "The request has invalid fields; see errors.",
        slug="invalid-input",
        title="Invalid input",
        errors=flatten_errors(messages),
    )


class UnmetRuleSchema(ma.Schema):
    id = ma.fields.String()
    message = ma.fields.String()


class StrandedBookingSchema(ma.Schema):
    appointment_id = ma.fields.Integer()
    start = ma.fields.String(metadata={"description": "RFC 3339 instant"})
    kind = ma.fields.String()
    patient_name = ma.fields.String(metadata={"description": '"Family, Given"'})


class ProblemSchema(ma.Schema):
    """RFC 9457 problem details, as every error response carries them, with the extension
    members of each problem type (scheduler.errors)."""

    type = ma.fields.String(metadata={"description": "URI of the problem type"})
    title = ma.fields.String()
    status = ma.fields.Integer()
    detail = ma.fields.String()
    errors = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.List(ma.fields.String()),
        metadata={"description": "Invalid fields and their messages (validation errors)"},
    )
    unmet = ma.fields.List(
        ma.fields.String(), metadata={"description": "Ids of unmet policy rules"}
    )
    rules = ma.fields.List(
        ma.fields.Nested(UnmetRuleSchema),
        metadata={"description": "The unmet policy rules, with their messages"},
    )
    state = ma.fields.String(metadata={"description": "Pathway state (illegal transition)"})
    trigger = ma.fields.String(metadata={"description": "Refused trigger (illegal transition)"})
    resources = ma.fields.List(
        ma.fields.String(), metadata={"description": "Resources already booked (slot taken)"}
    )
    appointment_ids = ma.fields.List(
        ma.fields.Integer(),
        metadata={"description": "Booked appointments a change would strand"},
    )
    stranded = ma.fields.List(
        ma.fields.Nested(StrandedBookingSchema),
        metadata={
            "description": "The booked appointments a change would strand, with their "
            "patients (bookings-stranded): confirm the change to mark them for rebooking"
        },
    )


class Api(flask_smorest.Api):
    """flask-smorest's Api with problem+json for every HTTP error."""

    ERROR_SCHEMA = ProblemSchema

    def _register_responses(self) -> None:
        """The error responses every operation refers to (``default``, 404, 422 ...), as
        they leave: problem+json (flask-smorest would document them as application/json)."""
        for status in HTTPStatus:
            response: dict[str, Any] = {"description": status.phrase}
            if status >= 200 and status not in (204, 304):
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, PROBLEM_JSON)
            self.spec.components.response(status.name, response, lazy=True)
        default = {"description": "Default error response", "schema": self.ERROR_SCHEMA}
        prepare_response(default, self.spec, PROBLEM_JSON)
        self.spec.components.response("DEFAULT_ERROR", default, lazy=True)

    def handle_http_exception(self, error: HTTPException) -> Response:
        code = error.code or 500
        data = getattr(error, "data", None) or {}
        if code in (400, 422) and ("messages" in data or "errors" in data):
            return _validation_problem(error)
        headers = dict(data.get("headers") or {})
        if code == 405 and error.valid_methods:  # type: ignore[attr-defined]
            headers["Allow"] = ", ".join(sorted(error.valid_methods))  # type: ignore[attr-defined]
        if code == 401:
            headers.setdefault("WWW-Authenticate", "Bearer")
        detail = data.get("message") or error.description or HTTPStatus(code).description
        if isinstance(error, InternalServerError):
            detail = "The server could not complete the request."
        return problem(code, str(detail), headers=headers)


class Parser(FlaskParser):
    """webargs' parser, with JSON nested too deep for the decoder counted as malformed."""

    def _raw_load_json(self, req: Any) -> Any:
        try:
            return super()._raw_load_json(req)
        except RecursionError as exc:
            raise JSONDecodeError("nested too deeply", "(request body)", 0) from exc


class Blueprint(flask_smorest.Blueprint):
    """Blueprint for v1 resources: lists come in pages of 50 (at most 200).

    The two shapes most endpoints take have a decorator each: :meth:`listing` (a
    paginated list) and :meth:`writing` (a body in, the written resource out).
    """

    ARGUMENTS_PARSER = Parser()
    DEFAULT_PAGINATION_PARAMETERS = {"page": 1, "page_size": 50, "max_page_size": 200}  # noqa: RUF012

    def _document_pagination_metadata(self, spec: Any, resp_doc: dict[str, Any]) -> None:
        """X-Pagination carries its metadata as a JSON object, so the header is documented
        with JSON content (OpenAPI 3 header ``content``), not as a plain ``schema``, which
        would mean the comma-separated ``simple`` style."""
        resp_doc.setdefault("headers", {})[self.PAGINATION_HEADER_NAME] = {
            "description": "Pagination metadata",
            "content": {"application/json": {"schema": PaginationMetadataSchema}},
        }

    def listing(
        self, schema: type[ma.Schema], query: type[ma.Schema] | None = None
    ) -> Callable[[Callable[..., Select[Any]]], Callable[..., list[Any]]]:
        """A paginated list of ``schema`` items, filtered by the ``query`` arguments if any.

        The view returns the statement (a service's); this runs one page of it.
        """

        def decorate(view: Callable[..., Select[Any]]) -> Callable[..., list[Any]]:
            @functools.wraps(view)
            def paged(
                *args: Any, pagination_parameters: PaginationParameters, **kwargs: Any
            ) -> list[Any]:
                return paginated(session(), view(*args, **kwargs), pagination_parameters)

            listed = self.response(200, schema(many=True))(self.paginate()(paged))
            if query is not None:
                listed = self.arguments(query, location="query")(listed)
            return cast(Callable[..., list[Any]], listed)

        return decorate

    def writing(
        self,
        body: SchemaArg,
        schema: SchemaArg,
        status: int = 201,
        headers: Mapping[str, Any] | None = None,
    ) -> Callable[[F], F]:
        """A write: the request body loaded by ``body``, the answer dumped by ``schema``
        (with the response ``headers`` documented, if it sets any)."""

        def decorate(view: F) -> F:
            loads = self.arguments(body, required=body_required(body))
            responds = self.response(status, schema, headers=headers)
            return cast(F, loads(responds(retried(view))))

        return decorate


def body_required(body: SchemaArg) -> bool:
    """Whether the document marks the request body required: an empty body loads as ``{}``
    (see :func:`require_json_body`), which only a list or a schema with a required field
    refuses (a partial schema, as PATCH loads, requires none of its fields)."""
    schema = body() if isinstance(body, type) else body
    required = schema.partial is not True and any(f.required for f in schema.fields.values())
    return bool(schema.many) or required


class IdConverter(IntegerConverter):
    """``<int:...>`` in routes: a path id beyond the id column's range matches no route (404)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("min", 1)
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(*args, **kwargs)


def handle_domain_error(error: DomainError) -> Response:
    if isinstance(error, PrerequisitesUnmet):
        metrics.refused(error)
    headers = {"WWW-Authenticate": "Bearer"} if error.status == 401 else None
    return problem(
        error.status,
        error.detail,
        slug=error.slug,
        title=error.title,
        headers=headers,
        **error.extensions(),
    )


def handle_unexpected(error: Exception) -> Response:
    """Last resort: a problem+json 500, logged by type and frames only (no message)."""
    frames = "".join(traceback.format_tb(error.__traceback__))
    log.error(
        "unhandled %s on %s %s\n%s",
        type(error).__name__,
        request.method,
        loggable_path(request.path),
        frames,
    )
    return problem(500, "The server could not complete the request.")


# How long a client should wait before retrying while the database is away (a restart
# or failover takes seconds).
RETRY_AFTER_SECONDS = 5
# How many times a write runs when the database reports a deadlock each time.
WRITE_ATTEMPTS = 3


def handle_database_error(error: Exception) -> Response:
    """A deadlock that outlived its retries is 409 (send it again); a database that is
    away is 503 with Retry-After, logged as one line (no stack trace per request).
    Anything else the database raises is a bug: 500."""
    if is_transient_conflict(error):
        return problem(
            409,
            "Another request changed the same records at the same moment; send it again.",
            slug="concurrent-change",
            title="Concurrent change",
        )
    if not is_database_away(error):
        return handle_unexpected(error)
    cause = getattr(error, "orig", None) or error
    log.warning(
        "database unavailable (%s) on %s %s",
        type(cause).__name__,
        request.method,
        loggable_path(request.path),
    )
    return unavailable(
        "The database is briefly unavailable; try again in a few seconds.",
        "database-unavailable",
    )


def unavailable(detail: str, slug: str, title: str = "Service unavailable") -> Response:
    """503 with Retry-After: not the request's fault, and it passes by itself."""
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
    return problem(503, detail, slug=slug, title=title, headers=headers)


def retried(view: F) -> F:
    """Run a write again, from a rolled-back session, when the database reports a deadlock
    or serialization failure (every write is one transaction, so nothing half-done stays);
    after ``WRITE_ATTEMPTS`` the error answers 409."""

    @functools.wraps(view)
    def run(*args: Any, **kwargs: Any) -> Any:
        for attempt in range(1, WRITE_ATTEMPTS + 1):
            try:
                return view(*args, **kwargs)
            except DBAPIError as error:
                if attempt == WRITE_ATTEMPTS or not is_transient_conflict(error):
                    raise
                session().rollback()
        raise AssertionError("unreachable")  # pragma: no cover

    return cast(F, run)


def require_json_body() -> None:
    """415 for a body that is not JSON on POST/PUT/PATCH (an empty body is fine), or that
    says it is in a charset other than UTF-8 (JSON is UTF-8, RFC 8259 §8.1)."""
    if request.method not in JSON_METHODS or not request.content_length:
        return
    if not request.is_json:
        raise UnsupportedMediaType("Send the request body as application/json.")
    charset = request.mimetype_params.get("charset", "utf-8").lower()
    if charset not in ("utf-8", "utf8"):
        raise UnsupportedMediaType("Send the request body as UTF-8 (charset=utf-8).")


def register_converters(app: Flask) -> None:
    app.url_map.converters["int"] = IdConverter


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(DomainError, handle_domain_error)
    app.register_error_handler(DBAPIError, handle_database_error)
    app.register_error_handler(SATimeoutError, handle_database_error)
    app.register_error_handler(Exception, handle_unexpected)


def etag_of(data: Any, schema: type[ma.Schema]) -> str:
    """The ETag the API gives ``data`` when ``schema`` dumps it (flask-smorest's own hash),
    for a page that must make the same If-Match check as a PATCH."""
    etag: str = Blueprint._generate_etag(schema().dump(data))
    return etag


def with_extra(row: Any, **extra: Any) -> SimpleNamespace:
    """A row's column values plus computed ones, for a response schema to dump."""
    values = {column.key: getattr(row, column.key) for column in inspect(row).mapper.column_attrs}
    return SimpleNamespace(**values, **extra)


def paginated(session: Session, statement: Select[T], pagination: PaginationParameters) -> list[T]:
    """One page of ``statement``'s rows; sets the total for the X-Pagination header."""
    total = session.scalar(select(func.count()).select_from(statement.order_by(None).subquery()))
    pagination.item_count = total or 0
    offset = (pagination.page - 1) * pagination.page_size
    if offset >= pagination.item_count:
        return []  # past the last page (also where the offset would overflow the database)
    return list(session.scalars(statement.limit(pagination.page_size).offset(offset)))
