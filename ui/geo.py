"""Area boundaries for the caseload map: read a GeoJSON file (ONS LSOA or ward
boundaries, or the synthetic county's own), find the area each point lies in, and
where to write place names.

Works offline on any such file: the area's name is read from a named property, or the
first of the usual ONS ones. Points are placed with shapely's spatial index, so a
county's cases are assigned in one pass.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import shapely
from shapely.geometry import shape

NAME_PROPERTIES = ("LSOA21NM", "LSOA11NM", "WD24NM", "WD23NM", "WD22NM", "name", "NAME")
CODE_PROPERTIES = ("LSOA21CD", "LSOA11CD", "WD24CD", "WD23CD", "WD22CD", "code", "CODE")
# ONS small-area names end in the area's number: "Colchester 001A". A place is the rest.
_AREA_NUMBER = re.compile(r"\s+\d{3}[A-Z]$")


class BoundaryError(ValueError):
    """The boundary file cannot be used; the message says why."""


@dataclass
class Areas:
    names: list[str]
    codes: list[str]
    shapes: list[shapely.Geometry]
    geojson: dict  # the features as read, for drawing

    def locate(self, lon: list[float], lat: list[float]) -> list[int | None]:
        """The index of the area each point lies in (None outside every area)."""
        if not lon:
            return []
        points = shapely.points(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
        tree = shapely.STRtree(self.shapes)
        found: list[int | None] = [None] * len(points)
        hits = tree.query(points, predicate="intersects")
        for point, area in zip(hits[0].tolist(), hits[1].tolist(), strict=True):
            if found[point] is None:
                found[point] = area
        return found

    def places(self) -> list[tuple[str, float, float]]:
        """(name, lon, lat) for labels: one per place when the areas are numbered
        parts of places (LSOAs), else one per area."""
        groups: dict[str, list[int]] = defaultdict(list)
        for i, name in enumerate(self.names):
            groups[_AREA_NUMBER.sub("", name)].append(i)
        if len(groups) == len(self.names) and len(self.names) > 60:
            return []  # too many to label one by one: the tooltip names each area
        out = []
        for place, members in sorted(groups.items()):
            point = shapely.union_all([self.shapes[i] for i in members]).point_on_surface()
            out.append((place, point.x, point.y))
        return out


def read_areas(path: Path, name_property: str = "") -> Areas:
    """The areas of a GeoJSON FeatureCollection (longitude, latitude)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BoundaryError(f"{path.name} is not a readable GeoJSON file: {exc}") from None
    features = [f for f in data.get("features", []) if f.get("geometry")]
    if not features:
        raise BoundaryError(f"{path.name} holds no area with a shape")
    props = features[0].get("properties") or {}
    named = name_property or next((p for p in NAME_PROPERTIES if p in props), "")
    if not named or named not in props:
        raise BoundaryError(
            f"{path.name}: no area name in property {name_property or ' or '.join(NAME_PROPERTIES)}"
        )
    coded = next((p for p in CODE_PROPERTIES if p in props), named)
    shapes = [shape(f["geometry"]) for f in features]
    first = shapes[0].bounds
    if not (-180 <= first[0] <= 180 and -90 <= first[1] <= 90):
        raise BoundaryError(
            f"{path.name} is not in longitude and latitude (WGS84): download the file's "
            "GeoJSON in WGS84, as the ONS Open Geography Portal offers it"
        )
    return Areas(
        [str((f.get("properties") or {}).get(named) or "") for f in features],
        [str((f.get("properties") or {}).get(coded) or "") for f in features],
        shapes,
        {"type": "FeatureCollection", "features": features},
    )


def boundary_file(configured: str, data_dir: Path) -> Path | None:
    """The boundary file to use: the setting's, else boundaries.geojson in the data
    directory; None when there is none."""
    if configured:
        return Path(configured)
    found = data_dir / "boundaries.geojson"
    return found if found.is_file() else None
