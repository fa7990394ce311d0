"""The synthetic county's area boundaries, as a council's ONS boundary file would give
them: one GeoJSON polygon per LSOA, with the ONS property names (LSOA21CD, LSOA21NM).

The county has area centroids but no shapes, so each area is the Voronoi cell of its
centroid (shapely), cut to the county's outline: the centroids' hull, widened a little.
Coordinates are rounded, so the same county writes the same file byte for byte.
"""

from __future__ import annotations

import json
from pathlib import Path

import shapely
from shapely.geometry import MultiPoint, Point, mapping

from synthetic.model import County

FILE = Path("maps") / "boundaries.geojson"
MARGIN_DEGREES = 0.04  # how far the outline reaches past the outermost centroids


def boundaries(county: County) -> dict:
    """A GeoJSON FeatureCollection of the county's LSOAs."""
    points = [Point(x.lon, x.lat) for x in county.lsoas]
    outline = MultiPoint(points).convex_hull.buffer(MARGIN_DEGREES, quad_segs=4)
    cells = shapely.voronoi_polygons(MultiPoint(points), extend_to=outline)
    features = []
    for lsoa in county.lsoas:
        centre = Point(lsoa.lon, lsoa.lat)
        cell = next(c for c in cells.geoms if c.contains(centre) or c.touches(centre))
        geometry = mapping(cell.intersection(outline))
        features.append(
            {
                "type": "Feature",
                "properties": {"LSOA21CD": lsoa.code, "LSOA21NM": lsoa.name},
                "geometry": {
                    "type": geometry["type"],
                    "coordinates": _rounded(geometry["coordinates"]),
                },
            }
        )
    return {"type": "FeatureCollection", "features": features}


def write_boundaries(county: County, out: Path) -> Path:
    path = out / FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(boundaries(county), separators=(",", ":"), sort_keys=True)
    path.write_text(text + "\n", encoding="utf-8")
    return path


def _rounded(coordinates: object) -> object:
    if isinstance(coordinates, list | tuple):
        return [_rounded(c) for c in coordinates]
    return round(float(coordinates), 5)  # type: ignore[arg-type]
