"""The `mlops` tool: offline previews, policy checks, sandbox and day-2 operations."""
