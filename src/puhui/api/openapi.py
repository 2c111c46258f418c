"""The published contract (接口契约): FastAPI's OpenAPI document, completed with what a client cannot
guess from the routes' declarations alone.

- Every error is an RFC 9457 problem (`application/problem+json`, the `Problem` schema) with a stable
  `code`. Each operation lists the error statuses it can answer: 413, 422 and 500 always; 400 with a
  body; 401 and 403 behind credentials; 404 where the path, or the body, names something; 409 on keyed
  mutations; 429 where a password is checked (log-in, sign-up, the calls that confirm a password); 503 on
  the group-committed payments (their writer process gone).
- A mutation also lists the success statuses its `Outcome`s name beyond the declared one (e.g. 200 when
  the client's id already named an order: nothing new was created).
- Every mutating operation that runs through `run_mutation` documents the `Idempotency-Key` header and the
  `Idempotent-Replayed` header of its answers; one that does not (the log-in mints a new token each time,
  a score is computed afresh) says so instead.

`install(app)` puts this in place of `app.openapi`. The document is built once and cached in
`app.openapi_schema` (built again only when routes are added afterwards, as FastAPI itself does)."""

from __future__ import annotations

import ast
import copy
import functools
import inspect
import textwrap
import typing
from collections.abc import Callable, Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts

from puhui.api import deps, mutations
from puhui.api.problems import MEDIA_TYPE, PROBLEM_BASE
from puhui.api.rate_limit import limit_auth_calls

MUTATING = frozenset({"post", "put", "patch", "delete"})
FASTAPI_422 = "Validation Error"  # the description of the 422 FastAPI gives every operation with input
PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
KEYED_BY = frozenset({"run_mutation", "replay"})  # what honours Idempotency-Key (puhui.api.mutations)
PASSWORD_FIELDS = frozenset({"password", "current_password"})  # checked against the log-in lock (登录限制)
HELPER_DEPTH = 2  # how far an endpoint's calls to helpers of its own module are followed

PROBLEM: dict[str, Any] = {
    "title": "Problem",
    "type": "object",
    "description": "An RFC 9457 problem: every error of the API. `code` is stable and names one error; "
    "`title` is its fixed English title, `detail` what went wrong this time. Some problems carry more "
    "members (below); a client should ignore members it does not know.",
    "required": ["type", "title", "status", "code"],
    "properties": {
        "type": {"type": "string", "description": f"`{PROBLEM_BASE}` followed by the code"},
        "title": {"type": "string", "description": "the error's title (the same for every problem with this code)"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599, "description": "the HTTP status"},
        "code": {
            "type": "string",
            "description": "stable machine code, e.g. `insufficient_funds`, "
            "`invalid_request`, `idempotency_key_reused`",
        },
        "detail": {"type": "string", "description": "what went wrong in this request"},
        "instance": {"type": "string", "description": "the path of the request"},
        "request_id": {
            "type": "string",
            "description": "the request's id (also the `X-Request-ID` header): quote it to support",
        },
        "errors": {
            "type": "array",
            "items": {},
            "description": "`invalid_request`: one entry per invalid field "
            "(`location`, `message`, `type`); `malformed_rule`: one message per problem",
        },
        "retry_after_seconds": {"type": "integer", "description": "429: seconds to wait (also `Retry-After`)"},
        "reasons": {
            "type": "array",
            "items": {"type": "string"},
            "description": "`payment_declined`: the reasons the payer can act on",
        },
        "reference": {
            "type": "string",
            "description": "`payment_declined`, `payment_under_review`: the risk "
            "decision's reference, to quote to customer service",
        },
        "refundable": {
            "type": "string",
            "pattern": r"^\d+\.\d{2}$",
            "description": "`refund_exceeds_payment`: the amount still refundable (decimal string)",
        },
        "results": {"type": "array", "items": {}, "description": "`transfers_rejected`: each transfer's result"},
        "field": {"type": "string", "description": "the input field the problem is about"},
        "allowed": {"type": "array", "items": {"type": "string"}, "description": "the values that are accepted"},
    },
    "additionalProperties": True,
}

ERRORS: dict[str, str] = {  # status -> when an operation answers it
    "400": "Malformed body: not JSON (`malformed_json`) or not parseable (`malformed_body`), a `Content-Length` "
    "that is not a number (`invalid_content_length`), or a request the operation cannot take as it is",
    "401": "No credentials, or a token that is not valid or has expired (`unauthorized`, `token_expired`)",
    "403": "The caller may not make this call (`forbidden` and more precise codes), or a suspended "
    "merchant tried to change something",
    "404": "What the path or the body names does not exist, or is not the caller's (`not_found` and more "
    "precise codes)",
    "409": "Conflict with the current state (e.g. `insufficient_funds`, a closed account, a repeated id)",
    "413": "Request body too large (`request_too_large`)",
    "422": "Invalid request: fields that fail validation (`invalid_request`, with `errors`), an invalid or "
    "reused `Idempotency-Key` (`invalid_idempotency_key`, `idempotency_key_reused`), or input the "
    "business rules refuse",
    "429": "Too many calls: from this address (`rate_limited`) or failed log-ins for this phone "
    "(`too_many_login_attempts`); wait `Retry-After` seconds",
    "500": "Internal error (`internal_error`); quote `request_id`",
    "503": "The database's writer process stopped before answering (`writer_unavailable`, SQLite under "
    "`puhui serve`): retry with the same `Idempotency-Key`, whose stored answer says whether it was done",
}

SUCCESSES: dict[int, str] = {  # a status an Outcome names beyond the route's declared one -> what it means
    200: "Nothing new: what the request asks for was already done (the client's id already named it, or "
    "the entry was already there); the answer describes it",
    201: "Created",
    202: "Accepted, not finished: held for a manual review (人工审核), or sent to the bank",
    207: "Partly done: read each item's result",
}

# What a route's declarations cannot show: a check made inside the handler, not by a dependency.
CHECKED_INSIDE: dict[str, dict[str, str]] = {
    "POST /v1/bank/notifications": {
        "401": "The signature is forged, stale or replayed (`forged_notification`, `stale_notification`, "
        "`replayed_notification`): nothing moves",
    },
    "POST /v1/customers/login": {"401": "The phone number or the password is wrong (`invalid_credentials`)"},
    "POST /v1/customers/me/verifications": {
        "409": "The channel already confirmed your identity (`channel_already_verified`), or a check of it, or ones "
        "that may reach today's limit, are running now (`verification_in_progress`: nothing was asked; try again "
        "after `Retry-After` seconds, with the same `Idempotency-Key` to get the running request's answer)",
        "429": "Too many of your own identity checks failed today (`too_many_verification_attempts`): nothing is "
        "asked or recorded until the China day ends; wait `Retry-After` seconds",
        "503": "No verification provider is configured, or it could not answer "
        "(`verification_provider_unavailable`): nothing was recorded",
    },
    "GET /v1/insurance/reserves": {"404": "No reserve run for the insurer and date (`reserve_run_not_found`)"},
    "GET /v1/insurance/reports/ratios": {"404": "No reserve run for the insurer and date (`reserve_run_not_found`)"},
    "GET /v1/securities/robo": {"404": "The customer has no robo-advice subscription (`robo_not_subscribed`)"},
    "GET /v1/securities/robo/report": {"404": "The customer has no robo-advice subscription (`robo_not_subscribed`)"},
    "GET /v1/securities/robo/proposal": {
        "404": "The customer has no brokerage account (`securities_account_not_found`)"
    },
    **{
        f"GET /v1/securities/{path}": {"404": "The customer has no brokerage account (`securities_account_not_found`)"}
        for path in ("account", "orders", "positions")
    },
}

IDEMPOTENCY_KEY: dict[str, Any] = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": mutations.KEY_MAX_LENGTH},
    "description": f"Makes the call safe to retry (1-{mutations.KEY_MAX_LENGTH} printable characters, unique "
    "per caller). The first call with a key is carried out and its answer stored; the same key with the same "
    "method, path and body (byte for byte) gets that stored answer again, with `Idempotent-Replayed: true`, and "
    "changes nothing. A refusal (a 4xx problem) changed nothing and is not stored: the same call under the same "
    "key runs again. The same key with another request is refused with 422 `idempotency_key_reused`; an empty, "
    "overlong or unprintable key with 422 `invalid_idempotency_key`. Without a key every call is carried out.",
}

REPLAYED: dict[str, Any] = {
    "description": "`true` when this is the stored answer to an earlier call with the same `Idempotency-Key`",
    "schema": {"type": "string", "enum": ["true"]},
}

RETRY_AFTER: dict[str, Any] = {
    "description": "seconds to wait before trying again",
    "schema": {"type": "integer", "minimum": 0},
}

NOT_KEYED = "This operation takes no `Idempotency-Key`: every call is answered afresh and nothing is stored to replay."


def install(app: FastAPI) -> None:
    """Serve the completed document as the app's `/openapi.json` (and to `/docs`)."""
    build = app.openapi
    done: list[dict[str, Any]] = []

    def openapi() -> dict[str, Any]:
        schema = build()  # FastAPI's own: cached in app.openapi_schema until routes are added
        if not done or done[0] is not schema:
            document(schema, app)
            done[:] = [schema]
        return schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way to extend its schema


def document(schema: dict[str, Any], app: FastAPI) -> dict[str, Any]:
    """Complete FastAPI's `schema` of `app` in place: the `Problem` schema, each operation's answers, the
    idempotency headers."""
    schemas = schema.setdefault("components", {}).setdefault("schemas", {})
    schemas["Problem"] = copy.deepcopy(PROBLEM)
    for route, method, operation in operations(schema, app):
        _document_operation(operation, route, method)
    for unused in ("HTTPValidationError", "ValidationError"):  # FastAPI's 422 body, which no answer has
        schemas.pop(unused, None)
    return schema


def operations(schema: dict[str, Any], app: FastAPI) -> Iterator[tuple[APIRoute, str, dict[str, Any]]]:
    """(route, lower-case method, its operation in `schema`) for each published operation."""
    for context in iter_route_contexts(app.routes):
        if not isinstance(context.original_route, APIRoute) or not context.include_in_schema:
            continue
        item = schema["paths"].get(context.path_format, {})
        for method in sorted(context.methods or ()):
            if method.lower() in item:
                yield context, method.lower(), item[method.lower()]  # type: ignore[misc]  # a RouteContext reads as its APIRoute


def _document_operation(operation: dict[str, Any], route: APIRoute, method: str) -> None:
    keyed = method in MUTATING and keyed_by_idempotency(route.endpoint)
    responses = operation.setdefault("responses", {})
    _add_successes(responses, outcome_statuses(route.endpoint) if keyed else set())
    inside = CHECKED_INSIDE.get(f"{method.upper()} {route.path_format}", {})
    for status in sorted(set(error_statuses(operation, route, keyed)) | set(inside)):
        _add_problem(responses, status, inside.get(status, ERRORS.get(status, "")))
    if keyed:
        _add_idempotency(operation)
    elif method in MUTATING:
        described = operation.get("description", "")
        operation["description"] = f"{described}\n\n{NOT_KEYED}" if described else NOT_KEYED


def _add_successes(responses: dict[str, Any], statuses: set[int]) -> None:
    """Success statuses the handler answers besides the declared ones, with the declared ones' body (any of
    them: a payment asked again is answered 200 whether it was paid or held)."""
    bodies: list[dict[str, Any]] = []
    for declared, answer in sorted(responses.items()):
        schema = answer.get("content", {}).get("application/json", {}).get("schema")
        if declared.startswith("2") and schema is not None and schema not in bodies:
            bodies.append(schema)
    body = bodies[0] if len(bodies) == 1 else {"anyOf": bodies}
    for status in sorted(statuses):
        if 200 <= status < 300 and str(status) not in responses:
            responses[str(status)] = {
                "description": SUCCESSES.get(status, "Success"),
                "content": {"application/json": {"schema": copy.deepcopy(body)}},
            }


def _add_problem(responses: dict[str, Any], status: str, description: str) -> None:
    answer = responses.setdefault(status, {"description": description})
    if answer.get("description") == FASTAPI_422:  # FastAPI's default, not one the route declared
        answer["description"] = description
    answer["content"] = {MEDIA_TYPE: {"schema": dict(PROBLEM_REF)}}
    if status == "429":
        answer.setdefault("headers", {})["Retry-After"] = copy.deepcopy(RETRY_AFTER)


def _add_idempotency(operation: dict[str, Any]) -> None:
    parameters = operation.setdefault("parameters", [])
    if not any(p.get("in") == "header" and p.get("name", "").lower() == "idempotency-key" for p in parameters):
        parameters.append(copy.deepcopy(IDEMPOTENCY_KEY))
    for status, answer in operation["responses"].items():
        if status.startswith("2"):
            answer.setdefault("headers", {})["Idempotent-Replayed"] = copy.deepcopy(REPLAYED)


def error_statuses(operation: dict[str, Any], route: APIRoute, keyed: bool) -> list[str]:
    """The error statuses `route` can answer (as OpenAPI writes them: strings)."""
    body = "requestBody" in operation
    credentials = route.dependant is not None and needs_credentials(route.dependant)
    names_something = "{" in route.path_format or "me" in route.path_format.split("/") or body
    found = {
        "400": True,  # the body limit refuses a `Content-Length` that is not a number, before any operation
        "401": credentials,
        "403": credentials,
        "404": names_something,
        "409": keyed,
        "413": True,  # the body limit stands before every operation
        "422": True,
        "429": checks_password(route),
        "500": True,
        "503": keyed and group_committed(route.endpoint),
    }
    return [status for status, applies in found.items() if applies]


def needs_credentials(dependant: Dependant) -> bool:
    """Whether anything the route depends on reads the caller's credentials (`puhui.api.deps`)."""
    return any(_reads_credentials(d.call) for d in _walk(dependant))


def _reads_credentials(call: Callable[..., Any] | None) -> bool:
    return isinstance(call, deps.BearerCaller)  # every way of naming the caller is one


def checks_password(route: APIRoute) -> bool:
    """Log-in and sign-up (rate-limited per address) and the calls that check a password against the
    per-phone log-in lock: they can answer 429."""
    if route.dependant is None:
        return False
    if any(d.call is limit_auth_calls for d in _walk(route.dependant)):
        return True
    return any(PASSWORD_FIELDS & _field_names(field.field_info.annotation) for field in route.dependant.body_params)


def _field_names(annotation: Any) -> set[str]:
    """The fields of a body model (of each model in `Model | None`)."""
    names = set(getattr(annotation, "model_fields", {}))
    for inner in typing.get_args(annotation):
        names |= _field_names(inner)
    return names


def _walk(dependant: Dependant) -> Iterator[Dependant]:
    yield dependant
    for inner in dependant.dependencies:
        yield from _walk(inner)


# -- what a handler does, read from its source -------------------------------------------------------------


def group_committed(endpoint: Callable[..., Any]) -> bool:
    """Whether the handler runs its call in a group commit (`run_mutation(..., group=...)`), which on
    SQLite under `puhui serve` is the writer process's (`puhui.db.writer`): it can answer 503."""
    return any(
        _name(call.func) == "run_mutation" and any(k.arg == "group" for k in call.keywords)
        for call in _calls(endpoint, HELPER_DEPTH)
    )


def keyed_by_idempotency(endpoint: Callable[..., Any]) -> bool:
    """Whether the handler runs through `run_mutation` or `replay`, which honour `Idempotency-Key`."""
    return any(_name(call.func) in KEYED_BY for call in _calls(endpoint, HELPER_DEPTH))


def outcome_statuses(endpoint: Callable[..., Any]) -> set[int]:
    """The literal statuses of the handler's `Outcome(...)`s that are not problems (`Outcome(201 if created
    else 200, ...)` gives both)."""
    found: set[int] = set()
    for call in _calls(endpoint, HELPER_DEPTH):
        if _name(call.func) != "Outcome" or _is_problem(call):
            continue
        status = call.args[0] if call.args else next((k.value for k in call.keywords if k.arg == "status"), None)
        found |= (
            {node.value for node in ast.walk(status) if isinstance(node, ast.Constant) and isinstance(node.value, int)}
            if status is not None
            else set()
        )
    return found


def _is_problem(call: ast.Call) -> bool:
    flags = call.args[2:3] + [k.value for k in call.keywords if k.arg == "problem"]
    return any(isinstance(flag, ast.Constant) and flag.value is True for flag in flags)


def _calls(function: Callable[..., Any], depth: int) -> Iterator[ast.Call]:
    """Every call in `function`'s source, and in the helpers of its own module (or of another router module,
    `_shares_routes`) it calls or binds with `partial(helper, ...)` (a grouped payment's work, `depth` down); a
    class of its module called there counts by its `__call__` (a work that is a value)."""
    function = inspect.unwrap(function)
    tree = _tree(function)
    if tree is None:
        return
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        yield node
        named = [node.func, *node.args[:1]] if _name(node.func) == "partial" else [node.func]
        for name in named:
            helper = function.__globals__.get(name.id) if isinstance(name, ast.Name) else None
            if inspect.isclass(helper) and helper.__module__ == function.__module__ and "__call__" in vars(helper):
                helper = vars(helper)["__call__"]
            own = inspect.isfunction(helper) and _shares_routes(helper, function) and helper is not function
            if depth and own:
                yield from _calls(helper, depth - 1)


def _shares_routes(helper: Callable[..., Any], function: Callable[..., Any]) -> bool:
    """Whether `helper` is read with the handler `function`: a function of its own module, or of another router
    module of Puhui's (a route of one package running another's helper, e.g. a merchant's bank orders)."""
    module = helper.__module__
    return module == function.__module__ or (module.startswith("puhui.") and module.endswith(".api"))


@functools.cache
def _tree(function: Callable[..., Any]) -> ast.AST | None:
    try:
        return ast.parse(textwrap.dedent(inspect.getsource(function)))
    except (OSError, TypeError, SyntaxError):  # no source at hand (built in, generated): nothing to read
        return None


def _name(node: ast.expr) -> str:
    """`run_mutation` for `run_mutation(...)` and `mutations.run_mutation(...)`."""
    if isinstance(node, ast.Name):
        return node.id
    return node.attr if isinstance(node, ast.Attribute) else ""
