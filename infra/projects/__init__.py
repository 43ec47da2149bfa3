"""ML projects under pipelines/: discovery, manifests, rendering of SageMaker definitions."""
