"""The synthetic county: realistic rates, valid identifiers, honest truth, same seed
same bytes. Expected values come from the truth files (tests/truth.py) and the
published rates, never from the generator's own bookkeeping."""

from __future__ import annotations

import csv
import datetime as dt
import math
from pathlib import Path

from openpyxl import load_workbook

from loaders.identifiers import check_nhs_number, check_postcode, check_uln, check_upn
from synthetic import rates
from synthetic.generate import generate
from synthetic.names import strip_diacritics
from tests import truth as t

# -- determinism -------------------------------------------------------------------


def _files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def test_same_seed_same_bytes(tmp_path):
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    generate(400, 99, a, as_of=dt.date(2026, 6, 1))
    generate(400, 99, b, as_of=dt.date(2026, 6, 1))
    generate(400, 100, c, as_of=dt.date(2026, 6, 1))
    first, second = _files(a), _files(b)
    assert first.keys() == second.keys()
    different = [name for name in first if first[name] != second[name]]
    assert not different, f"not byte-identical: {different}"
    assert any(name.endswith(".xlsx") for name in first)
    assert _files(c)["truth/people.csv"] != first["truth/people.csv"]


# -- prevalences -------------------------------------------------------------------


def _share(ids: set[str], of: set[str]) -> float:
    return len(ids & of) / len(of)


def _close(actual: float, target: float, relative: float) -> bool:
    return math.isclose(actual, target, rel_tol=relative)


def test_prevalences_match_published_rates(mid_county):
    root = mid_county
    kids = t.children(root)
    pupils = t.pupils(root)
    assert 14_500 <= len(kids) <= 15_500 and len(pupils) > 9_000
    open_ = t.open_cases(root)
    by_kind = {k: set(g.person_id) for k, g in open_.groupby("kind")}
    people = t.table(root, "people").set_index("person_id")
    checks = {
        # name: (actual, target, relative tolerance)
        "children in need (incl. CP, CLA)": (
            _share(by_kind["CIN"] | by_kind["CP"] | by_kind["CLA"], kids),
            rates.CHILDREN_IN_NEED.value,
            0.15,
        ),
        "child protection plans": (_share(by_kind["CP"], kids), rates.CHILD_PROTECTION.value, 0.3),
        "looked after": (_share(by_kind["CLA"], kids), rates.LOOKED_AFTER.value, 0.2),
        "early help": (_share(by_kind["EH"], kids), rates.EARLY_HELP.value, 0.2),
        "EHC plans": (_share(by_kind["EHCP"], pupils), rates.EHC_PLAN.value, 0.1),
        "SEN support": (_share(by_kind["SEN support"], pupils), rates.SEN_SUPPORT.value, 0.1),
        "free school meals": (
            _share(set(people[people.fsm == "1"].index), pupils),
            rates.FREE_SCHOOL_MEALS.value,
            0.1,
        ),
        "EAL": (_share(set(people[people.eal == "1"].index), pupils), rates.EAL.value, 0.3),
    }
    five_to_17 = {p for p in kids if int(people.at[p, "age"]) >= 5}
    checks["young carers (5-17)"] = (
        _share(set(people[people.young_carer == "1"].index), five_to_17),
        rates.YOUNG_CARER.value,
        0.3,
    )
    teens = {p for p in kids if int(people.at[p, "age"]) >= 10}
    checks["youth justice (10-17)"] = (
        _share(by_kind["YJ"], teens),
        rates.YOUTH_JUSTICE_10_17.value,
        0.5,
    )
    exclusions = t.table(root, "exclusions")
    checks["suspended"] = (
        _share(set(exclusions[exclusions.kind == "SUSP"].person_id), pupils),
        rates.SUSPENDED_PUPILS.value,
        0.2,
    )
    misses = {
        name: (round(a, 4), target)
        for name, (a, target, tol) in checks.items()
        if not _close(a, target, tol)
    }
    assert not misses, misses


def test_persistent_absence_near_published_rate(mid_county):
    att = t.table(mid_county, "attendance")
    year = t.academic_year(t.as_of(mid_county)) - 1
    last_year = att[att.term.str.startswith(f"{year}-")].copy()
    for column in ("possible", "authorised", "unauthorised"):
        last_year[column] = last_year[column].astype(int)
    sums = last_year.groupby("person_id")[["possible", "authorised", "unauthorised"]].sum()
    absence = (sums.authorised + sums.unauthorised) / sums.possible
    assert 0.17 <= (absence >= 0.10).mean() <= 0.215
    overall = (sums.authorised + sums.unauthorised).sum() / sums.possible.sum()
    assert 0.05 <= overall <= 0.09


def test_sen_needs_include_hearing_impairment_before_school(mid_county):
    needs = t.table(mid_county, "needs")
    people = t.table(mid_county, "people").set_index("person_id")
    hearing = set(needs[needs.code == "HI"].person_id)
    under_fives = {p for p in hearing if int(people.at[p, "age"]) < 5}
    assert under_fives, "no child under five with a known hearing impairment"
    primary = needs[needs["rank"] == "1"].code.value_counts(normalize=True)
    assert primary.index[0] in ("SLCN", "ASD", "SEMH")


# -- families, homes, services ---------------------------------------------------


def test_family_structures_are_varied(mid_county):
    parents = t.table(mid_county, "parents")
    kinds = parents.kind.value_counts()
    assert kinds["birth"] > 0 and kinds["step"] > 0 and kinds["foster"] > 0
    births = parents[parents.kind == "birth"]
    mothers = births.merge(
        t.table(mid_county, "people")[["person_id", "sex"]],
        left_on="parent_id",
        right_on="person_id",
    )
    by_mother = mothers[mothers.sex == "F"].groupby("parent_id").child_id.apply(set)
    by_father = mothers[mothers.sex == "M"].groupby("parent_id").child_id.apply(set)
    father_of = {c: f for f, kids in by_father.items() for c in kids}
    half_via_mother = sum(1 for kids in by_mother if len({father_of.get(c) for c in kids}) > 1)
    mother_of = {c: m for m, kids in by_mother.items() for c in kids}
    half_via_father = sum(1 for kids in by_father if len({mother_of.get(c) for c in kids}) > 1)
    assert half_via_mother > 50 and half_via_father > 20
    people = t.table(mid_county, "people")
    assert (people.age.astype(int) >= 18).sum() > 0  # some are now adults
    ended = t.table(mid_county, "partnerships")
    assert ended.end.notna().sum() > 0  # separations happen


def test_moves_into_deprived_areas_happen(mid_county):
    res = t.table(mid_county, "residences").merge(
        t.table(mid_county, "addresses")[["uprn", "imd_decile"]], on="uprn"
    )
    since = pd_timestamp(t.as_of(mid_county)) - dt.timedelta(days=365)
    recent = res[(res.start > since) & res.imd_decile.isin(["1", "2"])]
    moved = set(recent.person_id) & t.children(mid_county)
    assert len(moved) > 30


def pd_timestamp(day: dt.date):
    import pandas as pd

    return pd.Timestamp(day)


def test_geography_is_one_county_with_clustered_deprivation(mid_county):
    lsoas = t.table(mid_county, "addresses")
    lsoas = lsoas[lsoas.in_county == "1"]
    lat, lon = lsoas.lat.astype(float), lsoas.lon.astype(float)
    assert lat.between(51.5, 52.1).all() and lon.between(0.1, 1.2).all()
    areas = (
        lsoas.groupby("lsoa")
        .agg(
            lat=("lat", lambda s: s.astype(float).mean()),
            lon=("lon", lambda s: s.astype(float).mean()),
            decile=("imd_decile", lambda s: int(s.iloc[0])),
        )
        .reset_index()
    )
    points = list(areas.itertuples())
    mine, theirs = [], []
    for p in points:
        nearest = sorted(points, key=lambda q: (q.lat - p.lat) ** 2 + (q.lon - p.lon) ** 2)[1:6]
        mine.append(p.decile)
        theirs.append(sum(q.decile for q in nearest) / len(nearest))
    import statistics

    assert statistics.correlation(mine, theirs) > 0.3, "deprivation is not clustered"
    assert set(areas.decile) == set(range(1, 11))


def test_professionals_have_plausible_caseloads(mid_county):
    cases = t.open_cases(mid_county)
    pros = t.table(mid_county, "professionals")
    held = cases[cases.worker_id != ""].groupby("worker_id").size()
    assert set(held.index) <= set(pros.professional_id)
    social = pros[pros.role.str.contains("Social Worker")].professional_id
    assert held.reindex(social).fillna(0).max() <= 40
    unallocated = cases[(cases.worker_id == "") & cases.kind.isin(["CIN", "CP", "CLA", "EH"])]
    assert len(unallocated) > 0  # the managers' query has something to find


# -- identifiers and defects -----------------------------------------------------


def test_true_identifiers_are_valid(small_county):
    people = t.table(small_county, "people")
    for column, check in (("upn", check_upn), ("nhs_number", check_nhs_number), ("uln", check_uln)):
        values = [v for v in people[column] if v]
        assert values, column
        bad = [v for v in values if not check(v).ok]
        assert not bad, f"{column}: {bad[:5]}"
    assert people.upn[people.upn != ""].is_unique
    assert people.nhs_number.is_unique
    postcodes = t.table(small_county, "addresses").postcode
    assert all(check_postcode(pc).ok for pc in postcodes)


def test_every_injected_invalid_identifier_fails_its_check(small_county):
    defects = t.table(small_county, "defects")
    invalid = defects[defects.defect == "invalid_check_digit"]
    assert len(invalid) >= 5
    checks = {
        "UPN": check_upn,
        "Pupil UPN": check_upn,
        "NHS No": check_nhs_number,
        "NHS Number": check_nhs_number,
        "NHS_NUMBER": check_nhs_number,
    }
    for row in invalid.itertuples():
        check = checks[row.field]
        assert check(row.true_value).ok, row
        assert not check(row.written_value).ok, row


def _read_rows(root: Path, relpath: str) -> tuple[list[str], dict[int, list[str]]]:
    path = root / relpath
    if path.suffix == ".xlsx":
        sheet = load_workbook(path, read_only=True).worksheets[0]
        rows = list(sheet.iter_rows(values_only=True))
        header = [str(c) for c in rows[2]]
        return header, {
            i + 1: ["" if v is None else str(v) for v in r] for i, r in enumerate(rows) if i >= 3
        }
    encoding = {"social_care": "cp1252", "early_help": "utf-8-sig"}.get(
        relpath.split("/")[0], "utf-8"
    )
    with path.open(newline="", encoding=encoding) as handle:
        rows = list(csv.reader(handle))
    return rows[0], {i + 1: r for i, r in enumerate(rows) if i >= 1}


def test_truth_accounts_for_every_row(small_county):
    _truth_accounts_for_every_row(small_county)


def _truth_accounts_for_every_row(root: Path) -> None:
    source_rows = t.table(root, "source_rows")
    extracts = t.manifest(root)["extracts"]
    assert len(extracts) >= 20 and len({p.split("/")[0] for p in extracts}) >= 12
    for relpath, info in extracts.items():
        _, rows = _read_rows(root, relpath)
        recorded = source_rows[source_rows.file == relpath]
        assert len(rows) == info["rows"] == len(recorded), relpath
        assert sorted(int(r) for r in recorded.row) == sorted(rows), relpath
        people_rows = recorded[recorded.source != "reference"]
        if relpath.split("/")[0] not in ("reference",) and "warnings" not in relpath:
            assert (people_rows.person_id != "").all(), relpath


def test_defects_are_really_in_the_files(small_county):
    defects = t.table(small_county, "defects")
    files: dict[str, tuple[list[str], dict[int, list[str]]]] = {}
    checked = 0
    for row in defects.itertuples():
        if row.file not in files:
            files[row.file] = _read_rows(small_county, row.file)
        header, rows = files[row.file]
        values = rows[int(row.row)]
        if row.defect == "duplicate_row":
            assert values == rows[int(row.true_value)], row
        elif row.defect in (
            "typo",
            "nickname",
            "swapped_day_month",
            "impossible_date",
            "future_date",
            "invalid_check_digit",
            "diacritics_stripped",
        ):
            text = " | ".join(values)
            written = row.written_value
            if row.field in header and header.count(row.field) == 1 and "/" in written:
                written = written.split(" ")[0]
            spaced = text.upper().replace(" ", "")  # some systems print ids as "943 476 5919"
            assert (
                written.upper() in text.upper()
                or written.upper() in spaced
                or _excel_same(written, text)
                # ascii-only systems strip accents after a typo (logged as a second defect)
                or strip_diacritics(written).upper() in strip_diacritics(text).upper()
            ), row
        elif row.defect in ("missing_id", "blank_required") and row.field in header:
            cell = values[header.index(row.field)]
            if row.field.endswith("Name") and cell.strip():
                # a combined "given family" column: only the given name was blanked
                assert not cell.upper().startswith(row.true_value.upper() + " "), row
                continue
            assert cell.strip() == "", row
        checked += 1
    assert checked > 100
    kinds = set(defects.defect)
    for kind in (
        "nickname",
        "typo",
        "swapped_day_month",
        "missing_id",
        "invalid_check_digit",
        "stale_address",
        "duplicate_row",
        "blank_required",
        "diacritics_stripped",
    ):
        assert kind in kinds, kind


def _excel_same(written: str, text: str) -> bool:
    """A date written as dd/mm/yyyy reads back from xlsx as an ISO datetime."""
    try:
        day = dt.datetime.strptime(written, "%d/%m/%Y").date()
    except ValueError:
        return False
    return day.isoformat() in text


# -- the command -------------------------------------------------------------------


def test_generate_command(tmp_path):
    import subprocess
    import sys

    jigsaw = str(Path(sys.executable).parent / "jigsaw")
    out = tmp_path / "county"
    args = [
        jigsaw,
        "generate",
        "--children",
        "300",
        "--seed",
        "5",
        "--out",
        str(out),
        "--as-of",
        "2026-03-01",
    ]
    done = subprocess.run(args, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "county written" in done.stdout and (out / "manifest.json").exists()
    again = subprocess.run(args, capture_output=True, text=True, timeout=300)
    assert again.returncode != 0 and "--force" in again.stderr
    forced = subprocess.run([*args, "--force"], capture_output=True, text=True, timeout=300)
    assert forced.returncode == 0, forced.stderr
    tiny = subprocess.run(
        [jigsaw, "generate", "--children", "5", "--out", str(tmp_path / "x")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert tiny.returncode != 0 and "at least 200 children" in tiny.stderr
    bad_date = subprocess.run(
        [jigsaw, "generate", "--as-of", "2026-02-30", "--out", str(tmp_path / "y")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad_date.returncode != 0 and "is not a date" in bad_date.stderr


# -- the same county a week later -------------------------------------------------------


def test_a_week_later_changes_about_the_share_asked_and_nothing_else(small_county, tmp_path):
    from synthetic.week_later import write_week_later

    later = tmp_path / "later"
    done = write_week_later(small_county, later, seed=3, share=0.01)
    before, after = t.manifest(small_county)["extracts"], t.manifest(later)["extracts"]
    assert t.as_of(later) == t.as_of(small_county) + dt.timedelta(days=7)
    changed = 0
    for relpath, info in after.items():
        if relpath not in before:  # a new feed (change of address): every row is new
            changed += info["rows"]
            continue
        same = (later / relpath).read_bytes() == (small_county / relpath).read_bytes()
        assert same == (info == before[relpath]), relpath  # the manifest says which changed
        if not same:
            _, old = _read_rows(small_county, relpath)
            _, new = _read_rows(later, relpath)
            changed += (
                sum(old.get(n) != row for n, row in new.items())
                + len(old)
                - len(set(old) & set(new))
            )
    total = sum(info["rows"] for info in before.values())
    assert 0.005 < changed / total < 0.025, (changed, total)  # a school's return is whole
    assert done["rows_changed"] == changed
    assert all(
        done[kind] > 0
        for kind in ("attendance", "moves", "case events", "new children", "corrections")
    )
    # the truth goes along: every row of every file labelled, babies with their mothers
    _truth_accounts_for_every_row(later)
    rows = t.table(later, "source_rows")
    babies = rows[rows.person_id.str.startswith("W")]
    people = t.table(small_county, "people").set_index("person_id")
    assert len(babies) == done["new children"]
    for baby in babies.itertuples():
        assert check_nhs_number(baby.source_key).ok, baby
        mother = baby.related.removeprefix("mother:")
        assert people.at[mother, "sex"] == "F" and people.at[mother, "is_child"] == "0"


def test_a_week_after_a_week_gives_each_episode_reference_one_child(small_county, tmp_path):
    """Each week's new episodes are numbered after the file's highest reference, so the
    second week's are new ones (numbered from 1 again, a reference of the first week
    came back on another child: one case to the loader)."""
    from synthetic.week_later import write_week_later

    write_week_later(small_county, tmp_path / "one", seed=1)
    write_week_later(tmp_path / "one", tmp_path / "two", seed=2)
    children: dict[str, set[str]] = {}
    for week in ("one", "two"):
        with (tmp_path / week / "social_care" / "episodes.csv").open(encoding="cp1252") as f:
            refs = [(r["EPISODE_ID"], r["PERSON_ID"]) for r in csv.DictReader(f)]
        children = {}
        for ref, child in refs:
            children.setdefault(ref, set()).add(child)
        new = sorted(ref for ref in children if ref.startswith("WL"))
        assert new, week
    assert all(len(named) == 1 for named in children.values())
    assert len(new) > 1 and new == [f"WL{n:06d}" for n in range(1, len(new) + 1)]


def test_a_week_later_command(small_county, tmp_path):
    from typer.testing import CliRunner

    from ui.cli import app

    out = tmp_path / "later"
    args = ["generate", "--week-later-of", str(small_county), "--out", str(out), "--share", "0.02"]
    done = CliRunner().invoke(app, args)
    assert done.exit_code == 0 and "a week later written" in done.output, done.output
    again = CliRunner().invoke(app, args)
    assert again.exit_code != 0 and "--force" in again.output
    same = CliRunner().invoke(app, [*args[:4], str(small_county), "--force"])
    assert same.exit_code != 0 and "another directory" in same.output
