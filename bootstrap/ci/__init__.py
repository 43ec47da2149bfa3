"""The CI identity program (`pulumi up` here): see infra/ci.py and docs/ci.md."""
