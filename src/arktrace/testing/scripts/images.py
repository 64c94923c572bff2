"""Seedream image generation (``/images/generations``), JSON and streamed.

Shapes from ModelArk's image generation API reference (BytePlus ModelArk docs 1666945, as quoted in
anongecko/seedream-studio ``references/SEEDREAM-4point5-api-docs.md``) and the Ark SDKs' types
(``byteplussdkarkruntime/types/images``): the body is ``model``, ``created``, ``data`` (``url`` or
``b64_json``, and ``size``, per image; ``{"error": {...}}`` for an image the content filter rejected)
and ``usage`` (``generated_images``, ``output_tokens`` = sum of width x height / 256, ``total_tokens``).
A stream sends ``event: image_generation.partial_succeeded`` / ``.partial_failed`` per image, then
``image_generation.completed`` with the usage, then ``data: [DONE]``.

How many images: ``sequential_image_generation: "auto"`` makes
``sequential_image_generation_options.max_images`` of them (``AUTO_IMAGES`` when not given; never more
than 15 with the reference images), otherwise OpenAI's ``n`` (default 1).
"""

from __future__ import annotations

import base64
import hashlib
import re
import struct
import zlib
from collections.abc import Iterator
from typing import Any

from ._common import CONTENT_FILTER_MODEL, ArkError, Call, Route, dumps, invalid

DEFAULT_IMAGE_MODEL = "seedream-4-5-251128"
DEFAULT_SIZE = "2048x2048"
AUTO_IMAGES = 4  # images "auto" sequential generation makes when max_images is not given
MAX_IMAGES = 15  # reference images + generated images
URL_BASE = "https://ark-content-generation.example.com"
_SIZES = {"1K": "1024x1024", "2K": "2048x2048", "3K": "3072x3072", "4K": "4096x4096"}
_SIZE_RE = re.compile(r"(\d{2,5})[xX\u00d7](\d{2,5})\Z")

FILTERED_CODE = "OutputImageSensitiveContentDetected"
FILTERED_MESSAGE = "The request failed because the output image may contain sensitive information."


def _size(body: dict[str, Any]) -> tuple[str, int]:
    """The ``WxH`` of every image and its pixel count."""
    raw = body.get("size")
    size = DEFAULT_SIZE if raw in (None, "", "adaptive", "auto") else _SIZES.get(str(raw).upper(), raw)
    m = _SIZE_RE.match(size) if isinstance(size, str) else None
    if m is None:
        raise invalid(f"The parameter size specified in the request is not valid: {raw!r}.")
    width, height = int(m.group(1)), int(m.group(2))
    return f"{width}x{height}", width * height


def _count(body: dict[str, Any]) -> int:
    image = body.get("image")
    references = len(image) if isinstance(image, list) else (1 if image else 0)
    if body.get("sequential_image_generation") == "auto":
        options = body.get("sequential_image_generation_options")
        wanted = options.get("max_images") if isinstance(options, dict) else None
        wanted = AUTO_IMAGES if wanted is None else wanted
    else:
        wanted = body.get("n")
        wanted = 1 if wanted is None else wanted
    if isinstance(wanted, bool) or not isinstance(wanted, int) or not 1 <= wanted <= MAX_IMAGES:
        raise invalid(f"The number of images requested is not valid: {wanted!r}.")
    return max(1, min(wanted, MAX_IMAGES - references))


def png(seed: str) -> bytes:
    """A valid 1x1 PNG whose colour depends on ``seed`` (so b64_json payloads differ per image)."""
    r, g, b = hashlib.sha256(seed.encode()).digest()[:3]

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)  # 1x1, 8-bit RGB
    pixels = zlib.compress(bytes([0, r, g, b]))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


def plan_images(call: Call) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Each image (its data item) and the usage: what the request gets, stream or not."""
    body = call.body
    if not isinstance(body["prompt"], str):
        raise invalid("The parameter prompt specified in the request is not valid.")
    fmt = body.get("response_format") or "url"
    if fmt not in ("url", "b64_json"):
        raise invalid(f"The parameter response_format specified in the request is not valid: {fmt!r}.")
    size, pixels = _size(body)
    count = _count(body)
    filtered = min(1, count - 1) if call.requested == CONTENT_FILTER_MODEL else None
    images: list[dict[str, Any]] = []
    for index in range(count):
        if index == filtered:
            images.append({"error": {"code": FILTERED_CODE, "message": FILTERED_MESSAGE}})
        elif fmt == "b64_json":
            data = base64.b64encode(png(f"{body['prompt']}#{index}")).decode("ascii")
            images.append({"b64_json": data, "size": size})
        else:
            images.append({"url": f"{URL_BASE}/{call.model}/{call.rid}_{index}.jpeg", "size": size})
    generated = sum(1 for image in images if "error" not in image)
    tokens = round(generated * pixels / 256)
    return images, {"generated_images": generated, "output_tokens": tokens, "total_tokens": tokens}


def _named(kind: str, fields: dict[str, Any]) -> bytes:
    return ("event: " + kind + "\ndata: " + dumps({"type": kind, **fields}) + "\n\n").encode()


def image_stream(
    images: list[dict[str, Any]], usage: dict[str, int], model: str, created: int
) -> Iterator[bytes]:
    """One event per image, then the usage (without ``data: [DONE]``)."""
    for index, image in enumerate(images):
        kind = "partial_failed" if "error" in image else "partial_succeeded"
        fields = {"model": model, "created": created, "image_index": index, **image}
        yield _named("image_generation." + kind, fields)
    yield _named("image_generation.completed", {"model": model, "created": created, "usage": usage})


def _generate(call: Call) -> Any:
    images, usage = plan_images(call)
    if not call.body.get("stream"):
        call.refuse_unstreamed_midstream()
        return {"model": call.model, "created": call.created, "data": images, "usage": usage}
    events = image_stream(images, usage, call.model, call.created)
    # The magic mid-stream model breaks off before the last image's completion event arrives.
    fail_after = None if call.fail_after is None else min(call.fail_after, len(images))
    return call.stream(events, fail=stream_error, fail_after=fail_after)


def stream_error(err: ArkError, rid: str, sent: int) -> bytes:
    """A failure after the stream started: an ``error`` event."""
    fields = {"error": {"code": err.code, "message": f"{err.message} Request id: {rid}"}}
    return ("event: error\ndata: " + dumps(fields) + "\n\n").encode()


ROUTES = (Route("POST", "/images/generations", _generate, ("prompt",), default_model=DEFAULT_IMAGE_MODEL),)
