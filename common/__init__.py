"""Leaf modules shared by ``infra``, ``mlops`` and ``policies``: they import nothing of ours.

``tokens`` names every Pulumi type token; ``pipeline_definition`` reads rendered SageMaker
pipeline definitions (step field table, walker, value resolver). They are the only code that
``infra`` and ``policies`` share (docs/decisions.md, "Dependency rule").
"""
