"""Offline policy evaluation: the pack's rules over a Plan, with per-environment enforcement,
exemptions and reports (text, JSON, SARIF 2.1.0, JUnit)."""
