"""Reading a YAML file into a pydantic model, with one clear line when it is unusable.

The access policy and the risk of NEET configuration are both data a council edits by
hand; a mistake in either must name the file and the place, not raise a traceback.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError


def read_yaml(path: Path, what: str, error: type[ValueError]) -> Any:
    """The YAML at ``path``; ``error`` says "<path>: cannot read the <what>: <problem>"
    when the file cannot be read or is not YAML, or holds a day no calendar has
    (``2026-13-01``, which PyYAML raises as a bare ValueError)."""
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError, ValueError) as exc:
        raise error(f"{path}: cannot read the {what}: {exc}") from None


def load_yaml_model[M: BaseModel](
    path: Path, model: type[M], what: str, error: type[ValueError]
) -> M:
    """``model`` from the YAML at ``path``; ``error`` says "<path>: <where>: <problem>"."""
    data = read_yaml(path, what, error)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(x) for x in e['loc']) or 'file'}: {e['msg']}" for e in exc.errors()
        )
        raise error(f"{path}: {problems}") from None
