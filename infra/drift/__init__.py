"""Drift monitoring: the baseline a training run registers, the drift-check step code
(``code/``, uploaded and run in a Processing container) and the platform's drift-check
SageMaker pipeline (``pipeline.py``). See docs/drift.md."""
