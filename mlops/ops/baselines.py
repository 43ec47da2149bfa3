"""The drift baseline of the version a stack serves: what the drift check compares traffic with.

A training pipeline registers its baseline with the model package (``DriftCheckBaselines``, see
:func:`mlops.ops.packages.baseline_uri`); promotion copies it into the target stack with the
version. The version a stack serves is the one its file pins (``mlops:models.<project>``).
"""

from __future__ import annotations

from mlops.ops.aws import OpsError, is_not_found
from mlops.ops.environment import Env
from mlops.ops.packages import baseline_uri


def serving_baseline(env: Env, project: str) -> str | None:
    """The S3 URI of the baseline of the version ``env``'s stack pins for ``project``; None when
    nothing is pinned or that version has no baseline. OpsError when the pinned package is gone.
    """
    pin = env.settings.models.get(project)
    if pin is None:
        return None
    try:
        desc = env.client("sagemaker").describe_model_package(ModelPackageName=pin.package_arn)
    except Exception as exc:
        if is_not_found(exc):
            raise OpsError(f"stack {env.stack} pins {project} v{pin.version}, but its model "
                           f"package {pin.package_arn} does not exist") from None
        raise
    return baseline_uri(desc)
