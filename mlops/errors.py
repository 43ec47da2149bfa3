"""Exit codes and the one-line error contract of every `mlops` command.

Commands raise; :func:`classify` is the one table from exception to exit code and message, used
by the console-script entry (``mlops.cli.main``):

- 2: usage and configuration errors: arguments, stack files, project manifests, saved plans,
  policy configuration and exemptions, a program type without a spec, AWS credentials or
  region missing;
- 1: a check ran and failed (commands exit 1 themselves after printing what failed), or an
  operation against AWS failed (the AWS error code and message, in every command group);
- anything else is a bug: one line naming it, and the traceback with ``MLOPS_DEBUG=1``.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_CHECK_FAILED = 1  # a check ran and found problems; an AWS operation failed
EXIT_USAGE = 2  # bad arguments, stack files, manifests: the user must fix input
EXIT_INTERRUPTED = 130


class UsageError(Exception):
    """Bad input a person can fix; the message names the file, key or argument."""


def _usage_errors() -> tuple[type[BaseException], ...]:
    from infra.config import SettingsError
    from mlops.offline.plan import PlanFileError
    from mlops.policy.config import PolicyConfigError
    from mlops.specs import IncompleteSpec
    from policies.exemptions import ExemptionsError

    return (UsageError, SettingsError, PlanFileError, PolicyConfigError, ExemptionsError,
            IncompleteSpec)


def _aws(exc: BaseException) -> tuple[int, str] | None:
    """AWS errors: missing credentials or region are configuration (2), the rest failures (1)."""
    if not type(exc).__module__.startswith("botocore"):
        return None
    from botocore.exceptions import (
        BotoCoreError,
        ClientError,
        NoCredentialsError,
        NoRegionError,
        PartialCredentialsError,
        ProfileNotFound,
    )

    from mlops.ops.aws import describe_error

    if isinstance(exc, (NoCredentialsError, PartialCredentialsError, NoRegionError,
                        ProfileNotFound)):
        return EXIT_USAGE, f"AWS: {exc} (configure credentials and a region, or point "\
                           "AWS_ENDPOINT_URL at the sandbox: eval \"$(mlops sandbox env)\")"
    if isinstance(exc, (ClientError, BotoCoreError)):
        return EXIT_CHECK_FAILED, f"AWS: {describe_error(exc)}"
    return None


def classify(exc: BaseException) -> tuple[int, str] | None:
    """The exit code and one-line message for an error a person can act on; None for a bug."""
    from mlops.ops.aws import OpsError

    if isinstance(exc, _usage_errors()):
        return EXIT_USAGE, str(exc)
    if isinstance(exc, OpsError):
        return EXIT_CHECK_FAILED, str(exc)
    return _aws(exc)
