"""The attribute and metric names arktrace records, one constant per name.

Grouped by the convention that defines it, so a reader sees which backend reads what: OTel GenAI
(``gen_ai.*``, https://opentelemetry.io/docs/specs/semconv/gen-ai/), OpenInference (``llm.*``,
``input.*``, ``output.*``, ``embedding.*``,
https://github.com/Arize-ai/openinference/blob/main/spec/semantic_conventions.md), OTel's general
names (``server.*``, ``http.*``, ``error.*``, ``exception.*``), the OpenAI client's (``openai.*``),
arktrace's own (``arktrace.*``) and the backend extras (Langfuse's, MLflow's). Plain module
constants: reading one costs the same as the literal it replaces.
"""

from __future__ import annotations

# ------------------------------------------------------------------------------------ OTel GenAI
GENAI_OPERATION = "gen_ai.operation.name"
GENAI_PROVIDER = "gen_ai.provider.name"
GENAI_REQUEST_MODEL = "gen_ai.request.model"
GENAI_REQUEST_MAX_TOKENS = "gen_ai.request.max_tokens"
GENAI_REQUEST_TEMPERATURE = "gen_ai.request.temperature"
GENAI_REQUEST_TOP_P = "gen_ai.request.top_p"
GENAI_REQUEST_FREQUENCY_PENALTY = "gen_ai.request.frequency_penalty"
GENAI_REQUEST_PRESENCE_PENALTY = "gen_ai.request.presence_penalty"
GENAI_REQUEST_SEED = "gen_ai.request.seed"
GENAI_REQUEST_STOP_SEQUENCES = "gen_ai.request.stop_sequences"
GENAI_REQUEST_CHOICE_COUNT = "gen_ai.request.choice.count"
GENAI_REQUEST_STREAM = "gen_ai.request.stream"
GENAI_REQUEST_ENCODING_FORMATS = "gen_ai.request.encoding_formats"
GENAI_OUTPUT_TYPE = "gen_ai.output.type"
GENAI_EMBEDDINGS_DIMENSIONS = "gen_ai.embeddings.dimension.count"
GENAI_RESPONSE_ID = "gen_ai.response.id"
GENAI_RESPONSE_MODEL = "gen_ai.response.model"
GENAI_RESPONSE_FINISH_REASONS = "gen_ai.response.finish_reasons"
GENAI_RESPONSE_TIME_TO_FIRST_CHUNK = "gen_ai.response.time_to_first_chunk"
GENAI_SERVER_TTFT = "gen_ai.server.ttft"  # OpenLIT's time to first token, read by views built on it
# GenAI's content, each one JSON string (conventions.genai_content)
GENAI_INPUT_MESSAGES = "gen_ai.input.messages"
GENAI_OUTPUT_MESSAGES = "gen_ai.output.messages"
GENAI_SYSTEM_INSTRUCTIONS = "gen_ai.system_instructions"
GENAI_TOOL_DEFINITIONS = "gen_ai.tool.definitions"
GENAI_USAGE_INPUT_TOKENS = "gen_ai.usage.input_tokens"
GENAI_USAGE_OUTPUT_TOKENS = "gen_ai.usage.output_tokens"
GENAI_USAGE_TOTAL_TOKENS = "gen_ai.usage.total_tokens"
GENAI_USAGE_CACHE_READ = "gen_ai.usage.cache_read.input_tokens"
GENAI_USAGE_CACHE_CREATION = "gen_ai.usage.cache_creation.input_tokens"
GENAI_USAGE_REASONING = "gen_ai.usage.reasoning.output_tokens"
GENAI_USAGE_COST = "gen_ai.usage.cost"
GENAI_CONVERSATION_ID = "gen_ai.conversation.id"
GENAI_AGENT_NAME = "gen_ai.agent.name"
GENAI_TOOL_NAME = "gen_ai.tool.name"

# GenAI's client metrics (instrument names) and their token-type data-point attribute
GENAI_METRIC_TOKEN_USAGE = "gen_ai.client.token.usage"
GENAI_METRIC_DURATION = "gen_ai.client.operation.duration"
GENAI_METRIC_TIME_TO_FIRST_CHUNK = "gen_ai.client.operation.time_to_first_chunk"
GENAI_METRIC_TIME_PER_OUTPUT_CHUNK = "gen_ai.client.operation.time_per_output_chunk"
GENAI_TOKEN_TYPE = "gen_ai.token.type"

# ---------------------------------------------------------------------------------- OpenInference
OI_SPAN_KIND = "openinference.span.kind"
OI_PROVIDER = "llm.provider"
OI_SYSTEM = "llm.system"
OI_MODEL_NAME = "llm.model_name"
OI_EMBEDDING_MODEL_NAME = "embedding.model_name"
OI_EMBEDDING_TEXT = "embedding.embeddings.{}.embedding.text"
OI_INVOCATION_PARAMETERS = "llm.invocation_parameters"
OI_INPUT_VALUE = "input.value"
OI_INPUT_MIME_TYPE = "input.mime_type"
OI_OUTPUT_VALUE = "output.value"
OI_OUTPUT_MIME_TYPE = "output.mime_type"
OI_INPUT_MESSAGES = "llm.input_messages"
OI_OUTPUT_MESSAGES = "llm.output_messages"
OI_PROMPTS = "llm.prompts"
OI_TOOL_SCHEMA = "llm.tools.{}.tool.json_schema"
OI_TOKENS_PROMPT = "llm.token_count.prompt"
OI_TOKENS_COMPLETION = "llm.token_count.completion"
OI_TOKENS_TOTAL = "llm.token_count.total"
OI_TOKENS_CACHE_READ = "llm.token_count.prompt_details.cache_read"
OI_TOKENS_CACHE_WRITE = "llm.token_count.prompt_details.cache_write"
OI_TOKENS_REASONING = "llm.token_count.completion_details.reasoning"
OI_COST_PROMPT = "llm.cost.prompt"
OI_COST_COMPLETION = "llm.cost.completion"
OI_COST_TOTAL = "llm.cost.total"
OI_USER_ID = "user.id"
OI_SESSION_ID = "session.id"
OI_TAGS = "tag.tags"
OI_METADATA = "metadata"

# ------------------------------------------------------------------------- OTel general, OpenAI's
SERVER_ADDRESS = "server.address"
SERVER_PORT = "server.port"
HTTP_STATUS_CODE = "http.response.status_code"
HTTP_RESPONSE_HEADER = "http.response.header.{}"
HTTP_REQUEST_ID = "http.response.header.x-request-id"  # the provider's (ModelArk's, OpenAI's) id
HTTP_CLIENT_REQUEST_ID = "http.response.header.x-client-request-id"  # sent by the Ark SDKs, echoed
ERROR_TYPE = "error.type"
EXCEPTION_TYPE = "exception.type"
EXCEPTION_MESSAGE = "exception.message"
EXCEPTION_STACKTRACE = "exception.stacktrace"
OPENAI_API_TYPE = "openai.api.type"
OPENAI_REQUEST_SERVICE_TIER = "openai.request.service_tier"
OPENAI_RESPONSE_SERVICE_TIER = "openai.response.service_tier"

# ------------------------------------------------------------------------------- arktrace's own
ARKTRACE_ERROR_CODE = "arktrace.error.code"
ARKTRACE_PRICE_TABLE = "arktrace.cost.price_table"
ARKTRACE_BUILTIN_TOOL_CALLS = "arktrace.response.builtin_tool_calls"
ARKTRACE_TEXT_INPUT_TOKENS = "arktrace.usage.text.input_tokens"
ARKTRACE_IMAGE_INPUT_TOKENS = "arktrace.usage.image.input_tokens"
ARKTRACE_METRIC_COST = "arktrace.client.cost"

# -------------------------------------------------------------------------------- backend extras
LANGFUSE_COMPLETION_START = "langfuse.observation.completion_start_time"
LANGFUSE_COST_DETAILS = "langfuse.observation.cost_details"
LANGFUSE_USAGE_DETAILS = "langfuse.observation.usage_details"
LANGFUSE_USER_ID = "langfuse.user.id"
LANGFUSE_SESSION_ID = "langfuse.session.id"
LANGFUSE_TRACE_TAGS = "langfuse.trace.tags"
LANGFUSE_TRACE_METADATA_PREFIX = "langfuse.trace.metadata."
MLFLOW_TRACE_TAG_PREFIX = "mlflow.traceTag."  # a root span's mlflow.traceTag.<key>: the trace's tags
MLFLOW_COST = "mlflow.llm.cost"
MLFLOW_CHAT_TOOLS = "mlflow.chat.tools"

# bot chat and tokenization (Volcengine's bot_chat.completions, tokenization.create)
ARKTRACE_BOT_REFERENCE_COUNT = "arktrace.bot.reference.count"  # what the bot's plugins cited
ARKTRACE_BOT_REFERENCE_TITLE = "arktrace.bot.references.{}.title"  # content
ARKTRACE_BOT_REFERENCE_URL = "arktrace.bot.references.{}.url"  # content
ARKTRACE_BOT_MODEL_USAGE_NAME = "arktrace.bot.model_usage.{}.name"  # an endpoint the bot called
ARKTRACE_BOT_MODEL_USAGE_INPUT = "arktrace.bot.model_usage.{}.input_tokens"
ARKTRACE_BOT_MODEL_USAGE_OUTPUT = "arktrace.bot.model_usage.{}.output_tokens"
ARKTRACE_BOT_MODEL_USAGE_TOTAL = "arktrace.bot.model_usage.{}.total_tokens"
ARKTRACE_BOT_ACTION_USAGE_NAME = "arktrace.bot.action_usage.{}.name"  # a plugin the bot ran
ARKTRACE_BOT_ACTION_USAGE_SEARCHES = "arktrace.bot.action_usage.{}.search_count"
ARKTRACE_BOT_SEARCH_COUNT = "arktrace.bot.search_count"  # summed over the plugins
ARKTRACE_TOKENIZATION_TOTAL = "arktrace.tokenization.total_tokens"  # summed over the texts
ARKTRACE_TOKENIZATION_COUNTS = "arktrace.tokenization.token_counts"  # per text, in order
# video generation tasks (Seedance): what a task poll reports, recorded with or without content
ARKTRACE_TASK_STATUS = "arktrace.task.status"
# a succeeded task polled again: its usage and cost were counted on an earlier poll
ARKTRACE_TASK_USAGE_REPORTED = "arktrace.task.usage_reported_earlier"
ARKTRACE_TASKS_TOTAL = "arktrace.task.list.total"
ARKTRACE_TASKS_RETURNED = "arktrace.task.list.returned"
ARKTRACE_VIDEO_RATIO = "arktrace.video.ratio"
ARKTRACE_VIDEO_RESOLUTION = "arktrace.video.resolution"
ARKTRACE_VIDEO_DURATION = "arktrace.video.duration"
ARKTRACE_VIDEO_FRAMES = "arktrace.video.frames"
ARKTRACE_VIDEO_FPS = "arktrace.video.fps"
ARKTRACE_VIDEO_SEED = "arktrace.video.seed"
# image generation
ARKTRACE_IMAGE_COUNT = "arktrace.image.count"  # images the response returned
ARKTRACE_IMAGE_FAILED = "arktrace.image.failed_count"  # images the provider refused (content filter)
ARKTRACE_USAGE_GENERATED_IMAGES = "arktrace.usage.generated_images"  # the images ModelArk bills
