"""Query parameters are checked like bodies: a name the operation does not take (`?stauts=held`, a typo
that would otherwise be ignored and answer the unfiltered list) or a single-valued parameter given twice
(`?limit=5&limit=500`, where one of them would be silently dropped) is refused with a 422 problem before the
operation runs. The accepted names are the operation's own, as its OpenAPI document lists them.

The console's pages are not operations (they are left out of the OpenAPI document): a link to a page may
carry what a browser or a campaign adds (`?lang=en`, `?utm_source=…`), and a person must get the page,
not a JSON problem. Their own parameters are still validated by FastAPI."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from types import UnionType
from typing import Any, Union, get_args, get_origin

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from pydantic import AliasChoices

from puhui.errors import InvalidInput


class UnknownQueryParameter(InvalidInput):
    code = "unknown_query_parameter"
    title = "The operation takes no such query parameter"


class RepeatedQueryParameter(InvalidInput):
    code = "repeated_query_parameter"
    title = "A single-valued query parameter was given more than once"


async def known_query_parameters(request: Request) -> None:
    """A dependency of every operation (installed on the app)."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute) or not route.include_in_schema or not request.query_params:
        return
    fields = list(_query_params(route.dependant))
    taken = {name: _is_list(field.field_info.annotation) for field in fields for name in _names(field)}
    counts = Counter(name for name, _ in request.query_params.multi_items())
    for name, count in counts.items():
        if name not in taken:
            allowed = ", ".join(sorted(taken)) or "none"
            raise UnknownQueryParameter(f"{route.path_format} takes no query parameter {name!r} (it takes: {allowed})")
        if count > 1 and not taken[name]:
            raise RepeatedQueryParameter(f"query parameter {name!r} was given {count} times; it takes one value")


def _query_params(dependant: Dependant) -> Iterator[Any]:
    yield from dependant.query_params
    for inner in dependant.dependencies:
        yield from _query_params(inner)


def _names(field: Any) -> list[str]:
    """A parameter's name and the former names its `validation_alias` still accepts (`AliasChoices`)."""
    aliases = field.field_info.validation_alias
    former = [name for name in aliases.choices if isinstance(name, str)] if isinstance(aliases, AliasChoices) else []
    return [field.alias, *former]


def _is_list(annotation: object) -> bool:
    """Whether a query parameter takes several values (`list[str]`, `list[str] | None`)."""
    kinds = [annotation, *get_args(annotation)] if get_origin(annotation) in (Union, UnionType) else [annotation]
    return any(get_origin(kind) in (list, set, tuple) for kind in kinds)
