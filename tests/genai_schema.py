"""The rules of OpenTelemetry's GenAI content attributes, as JSON schemas the tests validate against.

The facts come from the conventions' published schemas: ``docs/gen-ai/gen-ai-input-messages.json``,
``gen-ai-output-messages.json``, ``gen-ai-system-instructions.json`` and ``gen-ai-tool-definitions.json``
in open-telemetry/semantic-conventions-genai, commit ``debdd770b8c0da9c814a495d55a1f678b5d34e4c``
(2026-05-11). Restated here rather than copied: CI cannot fetch them (no network beyond the package
indexes), and this repository holds no other project's text. The same required fields, value types and
nullability per part and message; roles, modalities and finish reasons accept any string there too (the
published schemas list the usual values and allow others).

One rule is stricter than the published ``anyOf``, on purpose: a part whose ``type`` is one the
conventions define must carry that part's fields. The published schemas also accept any object with a
string ``type`` as a "generic" part, which would let a ``text`` part without its ``content`` through.
To update: compare with a newer commit's files and change the tables below.
"""

from __future__ import annotations

from typing import Any

_STRING = {"type": "string"}
_OPTIONAL_STRING = {"type": ["string", "null"]}
_ANY: dict[str, Any] = {}
# What a server tool call (or its response) holds: at least its own ``type``.
_TYPED_OBJECT = {"type": "object", "required": ["type"], "properties": {"type": _STRING}}

# Part type -> (fields it requires besides ``type``, optional fields), each with its value's schema.
PARTS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "text": ({"content": _STRING}, {}),
    "reasoning": ({"content": _STRING}, {}),
    "tool_call": ({"name": _STRING}, {"id": _OPTIONAL_STRING, "arguments": _ANY}),
    "tool_call_response": ({"response": _ANY}, {"id": _OPTIONAL_STRING}),
    "server_tool_call": ({"name": _STRING, "server_tool_call": _TYPED_OBJECT}, {"id": _OPTIONAL_STRING}),
    "server_tool_call_response": ({"server_tool_call_response": _TYPED_OBJECT}, {"id": _OPTIONAL_STRING}),
    "uri": ({"modality": _STRING, "uri": _STRING}, {"mime_type": _OPTIONAL_STRING}),
    "blob": ({"modality": _STRING, "content": _STRING}, {"mime_type": _OPTIONAL_STRING}),
    "file": ({"modality": _STRING, "file_id": _STRING}, {"mime_type": _OPTIONAL_STRING}),
}


def _part() -> dict[str, Any]:
    rules = []
    for kind, (required, optional) in PARTS.items():
        rules.append(
            {
                "if": {"properties": {"type": {"const": kind}}},
                "then": {"required": sorted(required), "properties": {**required, **optional}},
            }
        )
    return {"type": "object", "required": ["type"], "properties": {"type": _STRING}, "allOf": rules}


def _messages(output: bool) -> dict[str, Any]:
    message = {
        "type": "object",
        "required": ["role", "parts"],
        "properties": {
            "role": _STRING,
            "parts": {"type": "array", "items": _part()},
            "name": _OPTIONAL_STRING,
        },
    }
    if output:
        message["required"] = ["role", "parts", "finish_reason"]
        message["properties"]["finish_reason"] = _STRING
    return {"type": "array", "items": message}


_TOOL = {
    "type": "object",
    "required": ["type", "name"],
    "properties": {
        "type": _STRING,
        "name": _STRING,
        "description": _OPTIONAL_STRING,
        "parameters": {"type": ["object", "boolean", "null"]},  # a JSON schema, or none
    },
}

SCHEMAS: dict[str, dict[str, Any]] = {
    "gen_ai.input.messages": _messages(output=False),
    "gen_ai.output.messages": _messages(output=True),
    "gen_ai.system_instructions": {"type": "array", "items": _part()},
    "gen_ai.tool.definitions": {"type": "array", "items": _TOOL},
}
