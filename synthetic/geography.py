"""The county's map: towns, small areas (LSOAs) with deprivation, postcodes, homes.

Deprivation is spatially clustered, as it is in real counties: a smooth random field
plus pockets around some town centres and estates, ranked into IMD deciles with a
county-like skew (fewer areas in the most deprived deciles than the least).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from synthetic.model import Address, County, Lsoa

COUNTY = "Northmere"
# A fictional county about 55 x 70 km. Postcode area "NM" is not a real one.
LAT_RANGE = (51.55, 52.05)
LON_RANGE = (0.15, 1.15)
POSTCODE_AREA = "NM"
INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"
# Share of LSOAs by national IMD decile (1 = most deprived) for a county like ours.
DECILE_SHARES = (0.06, 0.07, 0.08, 0.09, 0.10, 0.11, 0.12, 0.12, 0.12, 0.13)
# Where out-of-area placements go, with a postcode area each (format-valid only).
NEIGHBOURING_LAS = {
    "Suffolk": "IP",
    "Hertfordshire": "SG",
    "Cambridgeshire": "CB",
    "Kent": "CT",
    "Norfolk": "NR",
    "Havering": "RM",
    "Thurrock": "RM",
    "Southend-on-Sea": "SS",
    "Bedford": "MK",
    "Medway": "ME",
}


@dataclass(frozen=True)
class Town:
    name: str
    lat: float
    lon: float
    weight: float  # share of the population
    deprived_core: bool  # an inner area or estates with high deprivation


TOWNS = (
    Town("Northmere", 51.80, 0.55, 0.22, True),
    Town("Carrow", 51.62, 0.85, 0.14, True),
    Town("Eastbridge", 51.90, 0.98, 0.12, True),
    Town("Halstow", 51.70, 0.30, 0.11, False),
    Town("Wickford Magna", 51.98, 0.42, 0.08, False),
    Town("Saltmarsh", 51.60, 1.05, 0.08, True),
    Town("Thornby", 51.88, 0.22, 0.07, False),
    Town("Market Ellis", 51.75, 0.75, 0.07, False),
    Town("Fenwick", 52.02, 0.80, 0.06, False),
    Town("Brackenhurst", 51.66, 0.55, 0.05, False),
)

STREET_ENDINGS = (
    "Road",
    "Street",
    "Avenue",
    "Close",
    "Lane",
    "Way",
    "Drive",
    "Gardens",
    "Crescent",
    "Court",
    "Grove",
    "Place",
    "Rise",
    "Walk",
    "Mews",
)
STREET_STEMS = (
    "Oak",
    "Ash",
    "Elm",
    "Willow",
    "Station",
    "Church",
    "Mill",
    "Park",
    "Victoria",
    "Albert",
    "Queens",
    "Kings",
    "Manor",
    "Meadow",
    "Orchard",
    "Brook",
    "Hill",
    "High",
    "Castle",
    "Abbey",
    "Grange",
    "Forest",
    "Chestnut",
    "Beech",
    "Holly",
    "Maple",
    "Rowan",
    "Cedar",
    "Poplar",
    "Birch",
    "Hawthorn",
    "Heath",
    "Common",
    "Bridge",
    "Market",
    "Priory",
    "Windmill",
    "School",
    "Green",
    "Field",
    "Spring",
    "Water",
    "North",
    "South",
    "East",
    "West",
    "Long",
    "New",
    "Old",
    "Sandy",
    "Clay",
)


class Geography:
    """Builds LSOAs up front and hands out homes in them on demand."""

    def __init__(self, county: County, rng: random.Random, n_children: int) -> None:
        self.county = county
        self.rng = rng
        self._streets: dict[str, list[str]] = {}
        self._postcodes: dict[str, list[str]] = {}
        self._free: dict[str, list[str]] = {}
        self._house_numbers: dict[str, int] = {}
        self._used_postcodes: set[str] = set()
        self._next_uprn = 100_090_000_000
        self._districts = self._make_districts()
        self._build_lsoas(max(24, round(n_children / 300)))
        self.by_decile: dict[int, list[Lsoa]] = {d: [] for d in range(1, 11)}
        for lsoa in county.lsoas:
            self.by_decile[lsoa.imd_decile].append(lsoa)
        self._weights = [self._lsoa_weight(x) for x in county.lsoas]

    # -- areas ---------------------------------------------------------------

    def _make_districts(self) -> dict[str, list[str]]:
        districts: dict[str, list[str]] = {}
        number = 1
        for town in TOWNS:
            count = max(1, round(town.weight * 20))
            districts[town.name] = [f"{POSTCODE_AREA}{number + i}" for i in range(count)]
            number += count
        return districts

    def _build_lsoas(self, n: int) -> None:
        rng = self.rng
        # A smooth random field: a few random bumps.
        bumps = [
            (
                rng.uniform(*LAT_RANGE),
                rng.uniform(*LON_RANGE),
                rng.uniform(-1, 1),
                rng.uniform(0.04, 0.12),
            )
            for _ in range(12)
        ]
        # A small county has fewer towns: about one per 2,500 children, 2 to 10.
        towns = TOWNS[: max(2, min(len(TOWNS), round(n * 300 / 2_500)))]
        raw = []
        for i in range(n):
            town = rng.choices(towns, weights=[t.weight for t in towns])[0]
            rural = rng.random() < 0.25
            spread = 0.10 if rural else 0.035
            dist = abs(rng.gauss(0, spread))
            angle = rng.uniform(0, 2 * math.pi)
            lat = min(max(town.lat + dist * math.cos(angle), LAT_RANGE[0]), LAT_RANGE[1])
            lon = min(max(town.lon + dist * 1.6 * math.sin(angle), LON_RANGE[0]), LON_RANGE[1])
            score = sum(
                h * math.exp(-((lat - a) ** 2 + (lon - b) ** 2) / (2 * w * w))
                for a, b, h, w in bumps
            )
            if town.deprived_core and dist < 0.02:
                score += 1.6 * (1 - dist / 0.02)
            if rural:
                score -= 0.4
            score += rng.gauss(0, 0.35)
            raw.append((score, town, lat, lon, i))
        ranked = sorted(raw, key=lambda r: -r[0])
        cut = [round(sum(DECILE_SHARES[: d + 1]) * n) for d in range(10)]
        for position, (_, town, lat, lon, i) in enumerate(ranked):
            decile = next(d + 1 for d in range(10) if position < cut[d])
            district = rng.choice(self._districts[town.name])
            lsoa = Lsoa(
                code=f"E0109{i:04d}",
                name=f"{town.name} {i % 997:03d}{chr(65 + i % 26)}",
                town=town.name,
                lat=round(lat, 5),
                lon=round(lon, 5),
                imd_decile=decile,
                district=district,
            )
            self.county.add_lsoa(lsoa)
        self.county.lsoas.sort(key=lambda x: x.code)

    def _lsoa_weight(self, lsoa: Lsoa) -> float:
        # Deprived areas are denser and younger: more families with children.
        return 1.4 if lsoa.imd_decile <= 3 else 1.0

    def random_lsoa(self, near_decile: int | None = None) -> Lsoa:
        """Where a family lives or moves to; movers mostly stay in similar areas."""
        if near_decile is not None and self.rng.random() < 0.7:
            decile = min(10, max(1, near_decile + self.rng.choice((-1, 0, 0, 1))))
            if self.by_decile[decile]:
                return self.rng.choice(self.by_decile[decile])
        return self.rng.choices(self.county.lsoas, weights=self._weights)[0]

    # -- homes -----------------------------------------------------------------

    def _postcode(self, lsoa: Lsoa) -> str:
        codes = self._postcodes.setdefault(lsoa.code, [])
        if not codes or (len(codes) < 40 and self.rng.random() < 0.08):
            while True:
                pc = (
                    f"{lsoa.district} {self.rng.randint(1, 9)}"
                    f"{self.rng.choice(INWARD_LETTERS)}{self.rng.choice(INWARD_LETTERS)}"
                )
                if pc not in self._used_postcodes:
                    self._used_postcodes.add(pc)
                    codes.append(pc)
                    break
        return self.rng.choice(codes)

    def _street(self, lsoa: Lsoa) -> str:
        streets = self._streets.setdefault(lsoa.code, [])
        if not streets or (len(streets) < 12 and self.rng.random() < 0.1):
            streets.append(f"{self.rng.choice(STREET_STEMS)} {self.rng.choice(STREET_ENDINGS)}")
        return self.rng.choice(streets)

    def new_home(self, lsoa: Lsoa) -> Address:
        """A home in the area: a vacated one half the time, else a new one."""
        free = self._free.get(lsoa.code)
        if free and self.rng.random() < 0.5:
            return self.county.by_uprn[free.pop(self.rng.randrange(len(free)))]
        street = self._street(lsoa)
        number = self._house_numbers.get(street + lsoa.code, 0) + self.rng.randint(1, 6)
        self._house_numbers[street + lsoa.code] = number
        self._next_uprn += self.rng.randint(1, 40)
        line1 = f"{number} {street}"
        if self.rng.random() < 0.08:
            line1 = f"Flat {self.rng.randint(1, 12)}, {line1}"
        address = Address(
            uprn=str(self._next_uprn),
            line1=line1,
            town=lsoa.town,
            postcode=self._postcode(lsoa),
            lsoa=lsoa.code,
            lat=round(lsoa.lat + self.rng.gauss(0, 0.004), 6),
            lon=round(lsoa.lon + self.rng.gauss(0, 0.006), 6),
        )
        return self.county.add_address(address)

    def vacate(self, uprn: str) -> None:
        address = self.county.by_uprn[uprn]
        if address.in_county:
            self._free.setdefault(address.lsoa, []).append(uprn)

    def out_of_county_home(self) -> Address:
        """A placement address in another authority (no LSOA of ours)."""
        la = self.rng.choice(sorted(NEIGHBOURING_LAS))
        self._next_uprn += self.rng.randint(1, 40)
        outward = f"{NEIGHBOURING_LAS[la]}{self.rng.randint(1, 30)}"
        address = Address(
            uprn=str(self._next_uprn),
            line1=f"{self.rng.randint(1, 200)} {self.rng.choice(STREET_STEMS)} "
            f"{self.rng.choice(STREET_ENDINGS)}",
            town=la,
            postcode=f"{outward} {self.rng.randint(1, 9)}{self.rng.choice(INWARD_LETTERS)}"
            f"{self.rng.choice(INWARD_LETTERS)}",
            lsoa="",
            lat=0.0,
            lon=0.0,
            local_authority=la,
            in_county=False,
        )
        return self.county.add_address(address)
