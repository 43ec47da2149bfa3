"""The one place the sandbox adjusts moto's behaviour; installed by the sandbox server.

moto evaluates bucket policies without a request context: it knows no ``aws:SecureTransport``
or ``s3:x-amz-server-side-encryption`` value, and treats every condition operator other than
``StringEquals`` as satisfied. The platform's TLS-only and KMS-only deny statements would then
deny every object read and write, even a correct ``PutObject`` with ``aws:kms`` over TLS. With
this patch a Deny statement whose condition keys the request does not supply does not apply:
the sandbox stores the bucket policies exactly as deployed, but does not enforce conditional
denies it cannot evaluate (see docs/sandbox.md).
"""

from __future__ import annotations

from typing import Any


def install() -> None:
    """Patch moto's policy statement evaluation (idempotent)."""
    from moto.iam import access_control as ac

    statement_cls: Any = ac.IAMPolicyStatement
    if getattr(statement_cls, "_mlops_patched", False):
        return
    original = statement_cls.is_action_permitted

    def is_action_permitted(self: Any, action: str, resource: str = "*",
                            principal: str | None = None,
                            incoming_condition_values: dict[str, str] | None = None) -> Any:
        statement = self._statement
        condition = statement.get("Condition")
        if condition and statement.get("Effect") == "Deny":
            keys = {key for values in condition.values() for key in values}
            if not keys <= set(incoming_condition_values or {}):
                return ac.PermissionResult.NEUTRAL
        return original(self, action, resource, principal, incoming_condition_values)

    statement_cls.is_action_permitted = is_action_permitted
    statement_cls._mlops_patched = True
