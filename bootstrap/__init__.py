"""Programs an administrator runs once, outside CI (docs/ci.md)."""
