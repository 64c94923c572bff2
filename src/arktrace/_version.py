__version__ = "0.1.0"
SCHEMA_URL = "https://opentelemetry.io/schemas/1.37.0"  # the semantic-conventions version arktrace writes
