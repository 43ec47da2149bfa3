"""Exports of a Plan for other tools (Terraform plan JSON for IaC scanners)."""
