"""The HTTP API: the version dispatcher, /v1 (pecan + WSME), /v2 (Flask)."""
