"""Reading a YAML file into a pydantic model, with one clear line when it is unusable.

The access policy and the risk of NEET configuration are both data a council edits by
hand; a mistake in either must name the file and the place, not raise a traceback.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ValidationError


def load_yaml_model[M: BaseModel](
    path: Path, model: type[M], what: str, error: type[ValueError]
) -> M:
    """``model`` from the YAML at ``path``; ``error`` says "<path>: <where>: <problem>"."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        return model.model_validate(data)
    except (OSError, yaml.YAMLError) as exc:
        raise error(f"{path}: cannot read the {what}: {exc}") from None
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(x) for x in e['loc']) or 'file'}: {e['msg']}" for e in exc.errors()
        )
        raise error(f"{path}: {problems}") from None
