"""Run a rendered pipeline definition on this machine, step by step, without Docker.

``mlops pipelines run PROJECT --local`` interprets the definition JSON that ``render`` produces
(the one that is deployed) with the SageMaker semantics: Processing scripts in subprocesses,
built-in XGBoost training with the xgboost package, CreateModel and Transform, QualityCheck
baselines, Condition, Fail and RegisterModel (into the sandbox registry). See docs/local-runs.md.
"""
