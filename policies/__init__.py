"""The mlops-platform policy pack: rule catalogue, pure rule functions, exemptions.

Importing this package never builds a ``PolicyPack`` (its constructor starts a gRPC server and
never returns); only ``policies/__main__.py`` does. ``policies`` imports nothing of ours but the
leaves in ``common/`` (type tokens, the pipeline-definition reader), so the same rules run inside
``pulumi preview --policy-pack policies`` and in ``mlops policy check``.
"""
