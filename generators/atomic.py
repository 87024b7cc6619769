"""Files that appear whole or not at all: written beside the target, then renamed onto it."""
import json
import os
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def replacing(path, suffix="", tag=None):
    """Yield a temporary path beside ``path``; it replaces ``path`` only if the block succeeds.

    ``suffix`` keeps an extension that writers infer the format from (``.png``, ``.npz``);
    ``tag`` (default: the process id) tells apart writers sharing a folder.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{tag or os.getpid()}{suffix}")
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def dumps(obj):
    """The one JSON layout of every file we write (sorted keys, so equal data = equal bytes)."""
    return json.dumps(obj, indent=2, sort_keys=True, allow_nan=False) + "\n"


def write_json_atomic(path, obj):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with replacing(path) as tmp:
        tmp.write_text(dumps(obj))
