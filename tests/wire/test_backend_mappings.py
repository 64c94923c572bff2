"""The names the docs hand to OpenObserve and DataKit users are names on arktrace's real spans.

`examples/datakit-customer-tags.conf` is pasted into DataKit, which keeps only the attributes it lists;
docs/backends.md tells OpenObserve users which columns to query. A name there that no span carries is a
column or tag that stays empty, so each is checked against the spans of real calls to the bundled server:
a chat with a system and a user message, a streamed chat, an embedding and a failed call.
"""

from __future__ import annotations

import re
from pathlib import Path

import openai
import pytest

import arktrace


def _root() -> Path:
    for parent in Path(__file__).resolve().parents:
        if (parent / "pyproject.toml").is_file():
            return parent
    raise RuntimeError("no pyproject.toml above the tests")


ROOT = _root()
ENDPOINT = "ep-20250101120000-abcde"
# OpenObserve's own columns for every span (openobserve src/service/traces/mod.rs), not attributes
OPENOBSERVE_SPAN_COLUMNS = {"operation_name", "span_status", "duration", "service_name"}


@pytest.fixture
def attribute_names(modelark_client, spans):
    messages = [
        {"role": "system", "content": "You answer briefly."},
        {"role": "user", "content": "What is distributed tracing?"},
    ]
    with arktrace.context(user_id="u-42", session_id="chat-7"):
        modelark_client.chat.completions.create(
            model=ENDPOINT, messages=messages, temperature=0.3, max_tokens=64
        )
        for _ in modelark_client.chat.completions.create(model=ENDPOINT, messages=messages, stream=True):
            pass
        modelark_client.embeddings.create(model="ep-20250101120000-embed", input="hello")
        with pytest.raises(openai.NotFoundError):
            modelark_client.chat.completions.create(model="ep-error-404", messages=messages)
    found = spans.all()
    assert len(found) == 4
    return {name for span in found for name in span.attributes}


def _customer_tags() -> list[str]:
    text = (ROOT / "examples" / "datakit-customer-tags.conf").read_text(encoding="utf-8")
    text = "\n".join(line.split("#", 1)[0] for line in text.splitlines())
    (listed,) = re.findall(r"customer_tags\s*=\s*\[(.*?)\]", text, re.S)
    return re.findall(r'"([^"]+)"', listed)


def test_every_datakit_customer_tag_is_on_a_span(attribute_names):
    tags = _customer_tags()
    assert len(tags) >= 20 and len(tags) == len(set(tags)), tags
    assert [tag for tag in tags if tag not in attribute_names] == []


def _section(heading: str) -> str:
    text = (ROOT / "docs" / "backends.md").read_text(encoding="utf-8")
    start = text.index(f"\n## {heading}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def _column(section: str, index: int) -> list[str]:
    """The backticked names in column ``index`` of the section's first table."""
    rows = [line for line in section.splitlines() if line.startswith("|")][2:]
    table_end = next((i for i, row in enumerate(rows) if not row.strip()), len(rows))
    names = []
    for row in rows[:table_end]:
        cells = row.strip().strip("|").split("|")
        names += re.findall(r"`([^`]+)`", cells[index])
    return names


def test_datakit_mapping_names_only_attributes_on_a_span(attribute_names):
    named = _column(_section("Coming from DataKit's OpenLLMetry guide"), 1)
    assert "gen_ai.operation.name" in named
    assert [name for name in named if name not in attribute_names] == []


def _openobserve_column(attribute: str) -> str:
    # openobserve src/config/src/utils/flatten.rs, format_key: lower case, anything but [a-z0-9_] -> "_"
    return re.sub(r"[^a-z0-9_]", "_", attribute.lower())


def _columns_named(text: str) -> set[str]:
    # column names have an underscore; values such as `chat`, `OK`, `byteplus` have none
    return {
        name
        for name in re.findall(r"`([^`]+)`", text)
        if "_" in name and not name.startswith("_") and re.fullmatch(r"[a-z0-9_<>]+", name)
    }


def _sql_columns(section: str) -> set[str]:
    names = set()
    for query in re.findall(r"```sql\n(.*?)```", section, re.S):
        aliases = set(re.findall(r"\bAS\s+(\w+)", query))
        names |= {w for w in re.findall(r"\b[a-z][a-z0-9_]*\b", query) if "_" in w and w not in aliases}
    return names


def test_openobserve_columns_in_the_docs_come_from_span_attributes(attribute_names):
    section = _section("Coming from OpenObserve's BytePlus guide")
    columns = {_openobserve_column(name) for name in attribute_names} | OPENOBSERVE_SPAN_COLUMNS
    table = {name for name in _column(section, 2) if name in _columns_named(f"`{name}`")}
    named = table | _sql_columns(section)
    assert {"gen_ai_usage_input_tokens", "gen_ai_operation_name", "span_status"} <= named
    patterns = {name: re.compile(name.replace("<i>", r"\d+")) for name in named}
    missing = [name for name, p in sorted(patterns.items()) if not any(p.fullmatch(c) for c in columns)]
    assert missing == []
