"""The OpenAPI 3.1 document, generated from the endpoint table and the JSON Schema of the
pydantic models the endpoints return (``model_json_schema``): nothing in it is written by hand
that the code does not also use."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from adapters.api.endpoints import Endpoint
from bot.api.schema import Problem

REF = "#/components/schemas/{model}"
ERRORS = {
    "400": "A parameter could not be read (bad period, cursor, limit or scope).",
    "401": "No token, or an unknown or revoked one.",
    "403": "The token's role may not see this (a reader asking for staff-only data).",
}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _operation(endpoint: Endpoint) -> dict[str, Any]:
    schema: dict[str, Any] = (
        {"$ref": REF.format(model=endpoint.response.__name__)}
        if endpoint.response is not None
        else {"type": "object"}
    )
    responses: dict[str, Any] = {"200": _json(schema, endpoint.summary)}
    problem = {"$ref": REF.format(model=Problem.__name__)}
    codes: tuple[str, ...] = ()
    if endpoint.authenticated:
        codes = ("400", "401", "403") if endpoint.params else ("401",)
    for code in codes:
        responses[code] = _json(problem, ERRORS[code])
    operation: dict[str, Any] = {
        "operationId": endpoint.operation,
        "summary": endpoint.summary,
        "description": endpoint.description,
        "parameters": [
            {
                "name": p.name,
                "in": "query",
                "required": p.required,
                "description": p.description,
                "schema": p.schema(),
            }
            for p in endpoint.params
        ],
        "responses": responses,
    }
    if not endpoint.authenticated:
        operation["security"] = []
    return operation


def document(endpoints: Sequence[Endpoint], version: str) -> dict[str, Any]:
    models: list[type[BaseModel]] = [e.response for e in endpoints if e.response is not None]
    models.append(Problem)
    wanted: list[tuple[type[BaseModel], Literal["serialization"]]] = [
        (model, "serialization") for model in models
    ]
    _, schemas = models_json_schema(wanted, ref_template=REF)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "alliance-bot read-only API",
            "version": version,
            "description": "Organisations, measures with their figures, response rates and "
            "check-ins of the alliance, read-only. Send a token made with `alliance-bot api "
            "token create` as `Authorization: Bearer <token>`. Lists are paginated: follow "
            "`next` until it is null.",
        },
        "paths": {e.path: {"get": _operation(e)} for e in endpoints},
        "components": {
            "schemas": schemas.get("$defs", {}),
            "securitySchemes": {
                "token": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A token from `alliance-bot api token create`.",
                }
            },
        },
        "security": [{"token": []}],
    }
