"""The program Pulumi runs (``infra/__main__.py``) and the offline tools run under mocks."""

from __future__ import annotations

from pathlib import Path

import pulumi

from infra.config import (
    BUCKET_NAME_MAX,
    LONGEST_BUCKET_PURPOSE,
    Settings,
    SettingsError,
    parse_settings,
    stack_file,
)
from infra.naming import Naming
from infra.platform import MlopsPlatform, PlatformInputs
from infra.projects.drift import deployed, drift_spec, render_drift
from infra.projects.monitoring import monitoring_plans
from infra.projects.serving import serving_plans
from infra.projects.stack import project_pipelines

ROOT = Path(__file__).resolve().parent.parent


def settings_from_engine() -> Settings:
    """Validate the stack's configuration as the engine passes it to the program."""
    from pulumi.runtime.config import CONFIG, get_config_env

    return parse_settings({**get_config_env(), **CONFIG.get()}, stack_file(pulumi.get_stack()))


def naming_for(settings: Settings, stack: str) -> Naming:
    """Names for the stack, with the account from settings or the caller's identity."""
    account = settings.account_id
    if account is None:
        import pulumi_aws as aws

        account = aws.get_caller_identity().account_id
    naming = Naming(prefix=settings.name_prefix, stack=stack, account_id=account,
                    region=settings.region)
    longest = naming.bucket(LONGEST_BUCKET_PURPOSE)
    if len(longest) > BUCKET_NAME_MAX:
        raise SettingsError(
            stack_file(stack), "mlops:namePrefix",
            f"prefix and stack name make bucket names of {len(longest)} characters "
            f"(S3 allows {BUCKET_NAME_MAX}): {longest}",
        )
    return naming


def run(root: Path = ROOT) -> MlopsPlatform:
    """Settings -> projects -> platform -> stack outputs.

    Raises SettingsError (ProjectError is one) before any registration: settings first, then
    every project under pipelines/ is loaded, rendered and checked against the platform rules,
    and its serving section resolved for the stack.
    """
    stack = pulumi.get_stack()
    settings = settings_from_engine()
    naming = naming_for(settings, stack)
    projects = project_pipelines(root, settings, naming)
    served, not_served = serving_plans([p.project for p in projects], settings, naming)
    monitored = monitoring_plans([p.project for p in projects], served, settings, naming)
    drift = {}
    for plan in monitored:
        spec = drift_spec(plan, settings, naming)
        drift[plan.project] = deployed(render_drift(spec, root), spec.kms_key_arn)
    platform = MlopsPlatform(
        naming.stem, PlatformInputs(settings=settings, naming=naming, projects=projects,
                                    serving=served, not_served=not_served,
                                    monitoring=monitored, drift_definitions=drift)
    )
    for key, value in platform.outputs.items():
        pulumi.export(key, value)
    return platform
