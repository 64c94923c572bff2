"""Image generation: ``images.generate`` on openai and the Ark SDKs (Seedream), streamed or not
(``gen_ai.operation.name = generate_content``, ``gen_ai.output.type = image``).

Shapes, from the Ark SDKs' ``resources/images/images.py`` and ``types/images`` (byteplussdkarkruntime
5.x) and openai's ``types/images_response.py`` / ``image_gen_stream_event.py``: the request is a
``prompt``, reference images in ``image`` (Ark: a URL, a data: URL or a list of them) and the options
(``size``, ``seed``, ``n`` or ``sequential_image_generation(_options)``, ``response_format``,
``watermark``, ``guidance_scale``, ...); the response is ``data`` (per image ``url`` or ``b64_json``
and ``size``, or ``error`` for an image the provider refused), ``model``, ``created`` and ``usage``
(ModelArk: ``generated_images``, ``output_tokens``, ``total_tokens``; OpenAI: input and output
tokens). A ModelArk stream sends one ``image_generation.partial_succeeded`` / ``partial_failed``
event per image, then ``image_generation.completed`` with the usage; OpenAI's sends preview
``partial_image`` events, then ``completed`` carrying the image and the usage. Both SDKs raise at an
event that carries an ``error`` (a refused image): the stream's span ends there as any mid-stream
error does.

Image URLs are content (recorded with capture on only); a ``b64_json`` payload never is (its length
only, see ``_content.response_json``), nor is a reference image sent inline. Priced per image
(``image_cost``), by token where the table prices the model so.
"""

from __future__ import annotations

from typing import Any

from .._content import dump_model, fields_of, get, inline_data_placeholder
from ..conventions.names import (
    ARKTRACE_IMAGE_COUNT,
    ARKTRACE_IMAGE_FAILED,
    ARKTRACE_USAGE_GENERATED_IMAGES,
    GENAI_RESPONSE_MODEL,
    OI_INPUT_MESSAGES,
    OI_INPUT_MIME_TYPE,
    OI_INPUT_VALUE,
)
from ._common import (
    ANY_TEXT,
    SCALAR,
    TEXT,
    Operation,
    StreamState,
    message_attributes,
    price_tokens,
    words,
)
from ._errors import ReportedFailure

SAFE_ARGUMENTS = {
    "model": ANY_TEXT,
    "stream": SCALAR,
    "n": SCALAR,
    "seed": SCALAR,
    # "1024x1024", "2K", "auto": a dimension the API accepts or refuses, never the application's text
    "size": ANY_TEXT,
    "response_format": words("url", "b64_json"),
    "watermark": SCALAR,
    "guidance_scale": SCALAR,
    "sequential_image_generation": words("auto", "disabled"),
    "sequential_image_generation_options": {"max_images": SCALAR},
    "optimize_prompt": SCALAR,
    "optimize_prompt_options": {
        "mode": words("standard", "fast"),
        "thinking": words("auto", "enabled", "disabled"),
    },
    "output_format": words("png", "jpeg", "webp"),
    "layer_decomposition": SCALAR,
    "tools": [{"type": words("web_search")}],
    # OpenAI's
    "quality": words("auto", "standard", "hd", "low", "medium", "high"),
    "style": words("vivid", "natural"),
    "background": words("auto", "transparent", "opaque"),
    "moderation": words("auto", "low"),
    "output_compression": SCALAR,
    "partial_images": SCALAR,
}
# openai's ``resources/images.py`` module and the Ark SDKs' ``resources/images`` package (which
# re-exports the classes): one point each, so a class is never patched twice.
PATCH_POINTS = (
    ("resources.images", "Images", "generate"),
    ("resources.images", "AsyncImages", "generate"),
)
# ``/images/edits`` and ``/images/variations`` (openai's multipart uploads) are not traced.
PATHS = ("/images/generations",)

_URL_SCHEMES = ("http://", "https://")


def reference_url(value: Any) -> str | None:
    """A reference image as content: a URL as it is, a data: URL or bare base64 as its length only."""
    if not isinstance(value, str):
        return None
    if value.startswith(_URL_SCHEMES):
        return value
    head, comma, payload = value.partition(",")
    if comma and head.startswith("data:"):
        return f"{head},{inline_data_placeholder(len(payload))}"
    return inline_data_placeholder(len(value))


def request_content(
    args: dict[str, Any], content: dict[str, Any], whole: str | None, limit: int, budget: int
) -> dict[str, Any]:
    attrs: dict[str, Any] = {}
    prompt = content.get("prompt")  # sanitised: cut to the limit
    parts: list[dict[str, Any]] = []
    if isinstance(prompt, str):
        attrs[OI_INPUT_VALUE] = prompt
        attrs[OI_INPUT_MIME_TYPE] = TEXT
        parts.append({"type": "text", "text": prompt})
    images = args.get("image")
    for image in images if isinstance(images, (list, tuple)) else (images,):
        url = reference_url(image)
        if url is not None:
            parts.append({"type": "image_url", "image_url": {"url": url}})
    if parts:
        message = {"role": "user", "content": parts}
        attrs.update(message_attributes(OI_INPUT_MESSAGES, [message], budget, limit))
    return attrs


def output_messages(fields: dict[str, Any], choices: Any) -> list[Any]:
    """One assistant message whose parts are the images: a URL as content, inline data as none."""
    parts = []
    for image in _images(fields):
        url = get(image, "url")
        if isinstance(url, str) and url:
            parts.append({"type": "image_url", "image_url": {"url": url}})
        elif get(image, "error") is None:
            parts.append({"type": "image_url", "image_url": {}})
    return [{"role": "assistant", "content": parts}] if parts else []


def _images(fields: Any) -> Any:
    data = fields.get("data")
    return data if isinstance(data, (list, tuple)) else ()


def outcome(fields: dict[str, Any]) -> dict[str, Any]:
    """How many images came back and how many were refused; the images ModelArk bills."""
    attrs: dict[str, Any] = {}
    data = fields.get("data")
    if isinstance(data, (list, tuple)):
        failed = sum(1 for image in data if get(image, "error") is not None)
        attrs[ARKTRACE_IMAGE_COUNT] = len(data) - failed
        if failed:
            attrs[ARKTRACE_IMAGE_FAILED] = failed
    generated = get(fields.get("usage"), "generated_images")
    if type(generated) is int and generated >= 0:
        attrs[ARKTRACE_USAGE_GENERATED_IMAGES] = generated
    return attrs


def reported_failure(response: Any) -> ReportedFailure | None:
    """The failure an HTTP 200 answer reports: a top-level ``error``, or every image refused.

    Some images refused among others delivered is no failure of the call (it is counted in
    ``arktrace.image.failed_count``); a stream raises at the first refused one, and fails there.
    """
    error = get(response, "error")
    if error is None:
        data = get(response, "data")
        if not isinstance(data, (list, tuple)) or not data:
            return None
        errors = [get(image, "error") for image in data]
        if any(e is None for e in errors):
            return None
        error = errors[0]
    return ReportedFailure(get(error, "code"), get(error, "message"))


def price(prices: Any, attrs: dict[str, Any], request_model: Any) -> Any:
    """Per image: the images ModelArk bills, or those received when it did not say (a stream cut
    short); by token for a model the table prices so (OpenAI's gpt-image)."""
    images = attrs.get(ARKTRACE_USAGE_GENERATED_IMAGES)
    if images is None:
        images = attrs.get(ARKTRACE_IMAGE_COUNT)
    cost = prices.image_cost(attrs.get(GENAI_RESPONSE_MODEL), request_model, images)
    if cost is not None:
        return 0.0, cost
    return price_tokens(prices, attrs, request_model)


def output_format(args: dict[str, Any]) -> str:
    return "image"


# ----------------------------------------------------------------------------------- stream state

_SUCCEEDED = "image_generation.partial_succeeded"  # ModelArk: one per image
_FAILED = "image_generation.partial_failed"
_PREVIEW = "image_generation.partial_image"  # OpenAI: a preview of the image still being made
_COMPLETED = "image_generation.completed"  # ModelArk: usage only; OpenAI: the image and the usage
_EVENTS = frozenset({_SUCCEEDED, _FAILED, _PREVIEW, _COMPLETED})


class ImagesStreamState(StreamState):
    """An image stream: one event per image, then the usage. Keeps each image's URL or the length of
    its inline data (never the data: a stream of large images holds a few bytes per image).

    The images are kept in ``choices`` (by image index): what the lifecycle looks at to know a stream
    delivered something to describe.
    """

    __slots__ = ()

    def record(self, event: Any) -> bool:
        kind = get(event, "type")
        if kind in _EVENTS:
            if self.model is None:
                self.model = get(event, "model")
                created = get(event, "created")
                self.created = created if created is not None else get(event, "created_at")
            if kind == _PREVIEW:
                self._produced()
                return False
            if kind == _COMPLETED:
                usage = get(event, "usage")
                if usage is not None:
                    self.usage = usage
                if get(event, "url") is None and get(event, "b64_json") is None:
                    return False  # ModelArk's: no image of its own
            image = self._image(event)
            index = get(event, "image_index")  # ModelArk's; OpenAI's one image has none
            self.choices[index if type(index) is int else len(self.choices)] = image  # type: ignore[assignment]
            if "error" not in image:
                self._produced()
        return False  # usage comes in the completed event, never on its own

    @staticmethod
    def _image(event: Any) -> dict[str, Any]:
        error = get(event, "error")
        if error is not None:
            return {"error": {"code": get(error, "code"), "message": get(error, "message")}}
        image: dict[str, Any] = {}
        url = get(event, "url")
        if isinstance(url, str):
            image["url"] = url
        data = get(event, "b64_json")
        if isinstance(data, str):
            image["b64_json"] = inline_data_placeholder(len(data))
        size = get(event, "size")
        if isinstance(size, str):
            image["size"] = size
        return image

    def as_response(self) -> dict[str, Any]:
        response: dict[str, Any] = {"model": self.model}
        if self.created is not None:
            response["created"] = self.created
        response["data"] = [self.choices[i] for i in sorted(self.choices)]
        usage = self.usage
        if usage is not None:
            dump = getattr(usage, "model_dump", None)
            response["usage"] = dump_model(dump) if dump is not None else fields_of(usage)
        return response


IMAGES = Operation(
    name="generate_content",
    span_kind="LLM",
    paths=PATHS,
    patch_points=PATCH_POINTS,
    safe_arguments=SAFE_ARGUMENTS,
    request_content=request_content,
    output_messages=output_messages,
    price=price,
    stream_state=ImagesStreamState,
    include_usage=False,
    reported_failure=reported_failure,
    outcome=outcome,
    output_format=output_format,
    reads_choices=False,
    # Reference images (maybe inline data) are content: in the input message, never in the parameters.
    content_arguments=frozenset({"image"}),
)
