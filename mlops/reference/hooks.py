"""mkdocs hooks (``hooks:`` in mkdocs.yml): the reference pages, generated from the code at
build time as virtual files, so nothing is written into docs/.

``policies.md`` exists in docs/ as ``mlops policy docs`` writes it (tools link to it there);
the site shows the page rendered afresh from the rule registry, so the two never disagree for
long: ``mlops policy docs --check`` fails when the checked-in file is stale.
"""

from __future__ import annotations

import logging
import sys
import time
import warnings
from pathlib import Path
from typing import Any

log = logging.getLogger("mkdocs.hooks.reference")


def _root(config: Any) -> Path:
    return Path(config.config_file_path).resolve().parent


def on_config(config: Any) -> Any:
    root = str(_root(config))
    if root not in sys.path:  # the checkout's packages, also without an editable install
        sys.path.insert(0, root)
    # pulumi_aws warns about its deprecated *V2 classes when its modules load; not ours (the
    # test suite filters the same warnings), and mkdocs would print each one.
    warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"pulumi_aws(\..*)?")
    return config


def on_files(files: Any, config: Any) -> Any:
    from mkdocs.structure.files import File

    from mlops.reference import PAGES

    root = _root(config)
    for uri, generator in PAGES.items():
        started = time.monotonic()
        content = generator(root)
        existing = files.get_file_from_path(uri)
        if existing is not None:
            files.remove(existing)
        files.append(File.generated(config, uri, content=content))
        log.debug("generated %s in %.2f s", uri, time.monotonic() - started)
    return files
