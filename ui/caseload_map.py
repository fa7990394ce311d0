"""The caseload map as a pydeck (deck.gl) chart: areas shaded by how many cases live
in them, each case a dot coloured by team (or service), each unallocated case a
triangle, place names on top. No base map, and nothing fetched, unless a tile server
is set (``JIGSAW_MAP_TILES``): then it is the base map, as raster tiles.

The chart holds only what it draws: positions, colours and words for the tooltip; no
child's name or id.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from typing import Any
from urllib.parse import quote

import pydeck as pdk

from ui.geo import Areas
from ui.present.caseload import colours, needs_worker, rgb
from ui.present.words import case_kind

SHADES = ["#f7fbff", "#deebf7", "#c6dbef", "#9ecae1", "#6baed6"]  # fewest to most cases
TRIANGLE = 0.006  # half the height of an unallocated case's triangle, in degrees


def shade_classes(counts: list[int]) -> list[int]:
    """Upper bounds of the choropleth's classes (quantiles of the non-empty areas)."""
    values = sorted(c for c in counts if c)
    if not values:
        return []
    bounds = sorted(
        {
            values[min(len(values) - 1, math.ceil(q * len(values)) - 1)]
            for q in (0.2, 0.4, 0.6, 0.8, 1.0)
        }
    )
    return bounds


def shade(count: int, bounds: list[int]) -> str:
    if not count or not bounds:
        return "#ffffff"
    index = next((i for i, b in enumerate(bounds) if count <= b), len(bounds) - 1)
    return SHADES[min(len(SHADES) - 1, index + (len(SHADES) - len(bounds)))]


def area_counts(areas: Areas, points: list[dict[str, Any]]) -> Counter:
    """Cases per area (by index) of points with a position, each counting its ``cases``
    (1 when it is one case); each located point is given its area's name."""
    placed = [r for r in points if r.get("lat") is not None and r.get("lon") is not None]
    found = areas.locate([r["lon"] for r in placed], [r["lat"] for r in placed])
    counts: Counter = Counter()
    for r, a in zip(placed, found, strict=True):
        r["area"] = areas.names[a] if a is not None else None
        if a is not None:
            counts[a] += r.get("cases", 1)
    return counts


def area_layer(areas: Areas, counts: Counter) -> tuple[pdk.Layer, list[tuple[str, str]]]:
    bounds = shade_classes([counts.get(i, 0) for i in range(len(areas.names))])
    features = []
    for i, feature in enumerate(areas.geojson["features"]):
        n = counts.get(i, 0)
        tip = f"{areas.names[i]}: {n:,} case{'s' if n != 1 else ''}"
        features.append(
            {
                "type": "Feature",
                "geometry": feature["geometry"],
                "properties": {"tip": tip, "fill": [*rgb(shade(n, bounds)), 200]},
            }
        )
    layer = pdk.Layer(
        "GeoJsonLayer",
        {"type": "FeatureCollection", "features": features},
        id="areas",
        filled=True,
        stroked=True,
        get_fill_color="properties.fill",
        get_line_color=[90, 90, 90, 255],
        line_width_min_pixels=1,
        pickable=True,
    )
    low = 1
    legend = []
    for bound, colour in zip(bounds, SHADES[len(SHADES) - len(bounds) :], strict=True):
        legend.append((colour, f"{low:,}" if low == bound else f"{low:,} to {bound:,}"))
        low = bound + 1
    return layer, legend


def deck(
    points: list[dict[str, Any]],
    areas: Areas | None,
    counts: Counter,
    *,
    colour_by: str,
    tiles: str,
    focus: list[dict[str, Any]],
) -> tuple[pdk.Deck, dict[str, Any]]:
    """The map, and what its legend says (area shades, colours, shapes): areas shaded
    by ``counts`` (cases per area index), a dot per case in ``points`` with a worker
    (or needing none), a triangle per case waiting for one."""
    layers = []
    legend: dict[str, Any] = {"shades": [], "colours": {}}
    if areas is not None:
        layer, legend["shades"] = area_layer(areas, counts)
        layers.append(layer)
    placed = [r for r in points if r.get("lat") is not None and r.get("lon") is not None]
    palette = colours(r.get(colour_by) or "" for r in placed if r.get("professional"))
    legend["colours"] = palette
    dots, triangles = [], []
    for r in placed:
        what = case_kind(r.get("kind"))
        if not r.get("professional") and needs_worker(r.get("kind")):
            lon, lat, d = r["lon"], r["lat"], TRIANGLE
            triangles.append(
                {
                    "polygon": [
                        [lon, lat + d],
                        [lon - 1.3 * d, lat - 0.8 * d],
                        [lon + 1.3 * d, lat - 0.8 * d],
                    ],
                    "tip": f"Unallocated: {what}, {r.get('service') or ''}",
                }
            )
        else:
            group = r.get(colour_by) or ""
            dots.append(
                {
                    "lon": r["lon"],
                    "lat": r["lat"],
                    "colour": [*rgb(palette.get(group, "#555555")), 235],
                    "tip": f"{what} · {r.get('professional') or 'no worker needed'} · "
                    f"{r.get('team') or ''}",
                }
            )
    layers.append(
        pdk.Layer(
            "ScatterplotLayer",
            dots,
            id="cases",
            get_position="[lon, lat]",
            get_fill_color="colour",
            get_radius=90,
            radius_min_pixels=3,
            radius_max_pixels=9,
            stroked=True,
            get_line_color=[255, 255, 255],
            line_width_min_pixels=0.5,
            pickable=True,
        )
    )
    layers.append(
        pdk.Layer(
            "PolygonLayer",
            triangles,
            id="unallocated",
            get_polygon="polygon",
            get_fill_color=[180, 20, 20, 240],
            get_line_color=[0, 0, 0, 255],
            line_width_min_pixels=1.5,
            pickable=True,
        )
    )
    if areas is not None:
        labels = [{"text": name, "lon": lon, "lat": lat} for name, lon, lat in areas.places()]
        layers.append(
            pdk.Layer(
                "TextLayer",
                labels,
                id="places",
                get_position="[lon, lat]",
                get_text="text",
                get_size=14,
                get_color=[20, 20, 20, 255],
                font_weight=700,
                outline_width=3,
                outline_color=[255, 255, 255, 255],
                font_settings={"sdf": True},
            )
        )
    view = _view(focus or placed, areas)
    # no map_style at all: pydeck then sends its "default" marker, which Streamlit drops
    # rather than fetching its own base map from the internet
    options: dict[str, Any] = {"map_provider": None}
    if tiles:  # a one-layer style of the council's raster tiles, inline (nothing else)
        style = {
            "version": 8,
            "sources": {"tiles": {"type": "raster", "tiles": [tiles], "tileSize": 256}},
            "layers": [{"id": "tiles", "type": "raster", "source": "tiles"}],
        }
        # (with map_provider "mapbox" Streamlit's client wants a Mapbox token and draws none)
        options["map_style"] = "data:application/json," + quote(json.dumps(style), safe="")
    chart = pdk.Deck(layers=layers, initial_view_state=view, tooltip={"text": "{tip}"}, **options)
    return chart, legend


def _view(points: list[dict[str, Any]], areas: Areas | None) -> pdk.ViewState:
    """Centred on the points given (the manager's team), else the whole map."""
    lons = [p["lon"] for p in points if p.get("lon") is not None]
    lats = [p["lat"] for p in points if p.get("lat") is not None]
    if not lons and areas is not None:
        x0, y0, x1, y1 = _bounds(areas)
        lons, lats = [x0, x1], [y0, y1]
    if not lons:
        return pdk.ViewState(latitude=52.5, longitude=-1.5, zoom=5.5)
    span = max(max(lons) - min(lons), (max(lats) - min(lats)) * 1.6, 0.02)
    zoom = max(5.0, min(14.0, math.log2(360 / span) - 0.6))
    return pdk.ViewState(
        latitude=(min(lats) + max(lats)) / 2, longitude=(min(lons) + max(lons)) / 2, zoom=zoom
    )


def _bounds(areas: Areas) -> tuple[float, float, float, float]:
    import shapely

    return tuple(shapely.total_bounds(areas.shapes))  # type: ignore[return-value]
