"""The per-call path: a tool call is wrapped, decided, audited, then run, blocked or held."""
