// Each pupil's factors come from one of three places, never two:
//  1. any day of the academic years a load kept (RiskYear: the pupil's answer from each
//     day it changes on), while the detection rules are the ones it used;
//  2. as at the day of a load whose years are not kept (the analysts' copy holds none;
//     a review merge forgets the merged person's), the factors that load kept on the
//     pupil (risk_*), while the RiskDay says they are as at that day under these rules;
//  3. a day after the kept years, or a pupil the load did not cover: worked out from
//     the records (nobody is on the list before the kept years).
// While a load runs (the list marked loading) no RiskYear is trusted: some are stale
// until the load has written them again (graph.risk_facts).
// The weights, the bands and the choice of year group apply afterwards, to each, and
// only the pupils on the list are looked up for their names.
CALL {
  // The answer from the last day it changed on up to the day asked (days as yyyymmdd).
  UNWIND [date($as_of)] AS today
  OPTIONAL MATCH (kept:RiskList)
  WITH today, kept WHERE NOT coalesce(kept.loading, false)
  WITH CASE WHEN today.month >= 9 THEN today.year ELSE today.year - 1 END AS ay,
       today.year * 10000 + today.month * 100 + today.day AS day
  MATCH (span:RiskYear)
  WHERE span.ay = ay AND span.rules = $config.rules
  WITH span, size([d IN span.starts WHERE d <= day]) - 1 AS i
  WHERE i >= 0 AND span.factors[i] <> ''
  RETURN span.person AS uid, span.year_group AS year_group,
         CASE WHEN span.schools[i] <> '' THEN span.schools[i] END AS school,
         CASE WHEN span.school_urns[i] <> '' THEN span.school_urns[i] END AS school_urn,
         CASE WHEN span.area <> '' THEN span.area END AS area,
         CASE WHEN span.attendance[i] >= 0 THEN span.attendance[i] END AS attendance_pct,
         split(span.factors[i], ',') AS found
  UNION ALL
  // only when the kept list does not say every pupil's year is kept (so not on the live
  // graph after a load), and for a pupil without a kept year
  UNWIND [date($as_of)] AS today
  OPTIONAL MATCH (kept:RiskList)
  WITH CASE WHEN today.month >= 9 THEN today.year ELSE today.year - 1 END AS ay, kept
  WITH ay, coalesce(kept.loading, false) AS loading
  WHERE NOT coalesce(kept.rules = $config.rules AND ay IN kept.years, false)
  MATCH (kept_day:RiskDay)
  WHERE kept_day.as_of = date($as_of) AND kept_day.rules = $config.rules
  MATCH (c:Person)
  WHERE c.risk_year_group IN $config.year_groups
  OPTIONAL MATCH (span:RiskYear {uid: c.uid + '/' + toString(ay)})
  WITH c, span, loading WHERE NOT coalesce(span.rules = $config.rules AND NOT loading, false)
  RETURN c.uid AS uid, c.risk_year_group AS year_group, c.risk_school AS school,
         c.risk_school_urn AS school_urn, c.risk_area AS area,
         c.risk_attendance_pct AS attendance_pct, c.risk_factors AS found
  UNION ALL
  // Dates and thresholds are worked out once: FalkorDB evaluates an expression such as
  // date($as_of) again for every row it aggregates. (UNWIND, as a WITH opening a
  // subquery would be read as importing variables.)
  UNWIND [date($as_of)] AS today
  // nobody to work out when the load kept the whole cohort's as at this day, or every
  // day of its academic year, under these rules (graph.risk_facts: it is marked so until
  // anyone's are forgotten), or the day is before its first kept year (the first any
  // child could be on the list in: loaders.risk_factors)
  OPTIONAL MATCH (kept:RiskList)
  WITH today, CASE WHEN today.month >= 9 THEN today.year ELSE today.year - 1 END AS ay, kept
  WITH today, ay, coalesce(kept.loading, false) AS loading
  WHERE NOT coalesce(kept.rules = $config.rules
                     AND (kept.as_of = today OR ay IN kept.years OR ay < kept.years[0]), false)
  OPTIONAL MATCH (kept_day:RiskDay)
  WITH today, ay, loading,
       coalesce(kept_day.as_of = today AND kept_day.rules = $config.rules, false) AS day_kept
  WITH today, today - duration({days: $config.window_days}) AS since,
       today - duration({days: $config.yj_window_days}) AS yj_since, ay, loading, day_kept,
       date({year: today.year - 1, month: 8, day: 1}) AS aug1,
       date({year: today.year - 1, month: 10, day: 1}) AS oct1,
       date({year: today.year, month: 8, day: 1}) AS aug2,
       date({year: today.year, month: 10, day: 1}) AS oct2
  // (:Person, then :Child: FalkorDB uses the dob index only for the first.)
  MATCH (c:Person)
  WHERE c.dob >= date({year: ay - 16, month: 9, day: 1})
    AND c.dob < date({year: ay - 12, month: 9, day: 1})
  WITH c, today, since, yj_since, ay, aug1, oct1, aug2, oct2, loading, day_kept
  WHERE c:Child AND NOT (day_kept AND c.risk_year_group IS NOT NULL)
  OPTIONAL MATCH (span:RiskYear {uid: c.uid + '/' + toString(ay)})
  WITH c, today, since, yj_since, ay, aug1, oct1, aug2, oct2, span, loading
  WHERE NOT coalesce(span.rules = $config.rules AND NOT loading, false)
  WITH c, today, since, yj_since, aug1, oct1, aug2, oct2,
       11 - size([y IN range(ay - 15, ay - 13) WHERE c.dob >= date({year: y, month: 9, day: 1})])
         AS year_group
  WHERE year_group IN $config.year_groups
    AND ($year_group = 'all' OR toString(year_group) = $year_group)
  // The school now, and any school joined in the window outside the autumn intake.
  // Conditions sit in CASE, not in an OPTIONAL MATCH's WHERE: FalkorDB runs the latter
  // one row at a time.
  OPTIONAL MATCH (c)-[r:ATTENDS]->(s:School)
  WITH c, today, since, yj_since, year_group,
       collect(DISTINCT CASE WHEN r.from <= today AND (r.to IS NULL OR r.to > today)
                    AND s.phase IN ['Primary', 'Secondary', 'Special', 'Alternative provision']
                    THEN s END) AS schools,
       collect(CASE WHEN r.from > since AND r.from <= today
                     AND NOT (r.from >= aug1 AND r.from < oct1)
                     AND NOT (r.from >= aug2 AND r.from < oct2)
                    THEN [s.uid, r.from] END) AS joins
  WHERE size(schools) > 0
  // An earlier school, only for those who joined one: on its roll, or in its returns.
  WITH c, today, since, yj_since, year_group, schools, joins,
       CASE WHEN size(joins) > 0 THEN c END AS joiner
  OPTIONAL MATCH (joiner)-[o:ATTENDS|ATTENDANCE]->(earlier:School)
  WITH c, today, since, yj_since, year_group, schools, joins,
       collect([earlier.uid, coalesce(o.from, o.term_start)]) AS spells
  WITH c, today, since, yj_since, year_group, schools,
       any(n IN joins WHERE any(e IN spells WHERE e[0] <> n[0] AND e[1] < n[1])) AS changed
  OPTIONAL MATCH (c)-[a:ATTENDANCE]->()
  WITH c, today, since, yj_since, year_group, schools, changed,
       sum(CASE WHEN a.term_start > since AND a.term_start <= today THEN a.possible END)
         AS possible,
       sum(CASE WHEN a.term_start > since AND a.term_start <= today THEN a.absent END) AS absent
  OPTIONAL MATCH (c)-[e:EXCLUDED]->()
  WITH c, today, since, yj_since, year_group, schools, changed, possible, absent,
       count(CASE WHEN e.date > since AND e.date <= today THEN 1 END) AS exclusions,
       count(CASE WHEN e.date > since AND e.date <= today AND e.kind = 'PERM' THEN 1 END)
         AS permanent
  OPTIONAL MATCH (c)-[:HAS_CASE]->(k:Case)
  WITH c, today, since, year_group, schools, changed, possible, absent, exclusions, permanent,
       collect(DISTINCT CASE WHEN (k.status = 'open' AND coalesce(k.start, today) <= today)
         OR (k.kind = 'YJ' AND k.start <= today AND (k.end IS NULL OR k.end > yj_since))
         THEN k.kind END) AS kinds
  OPTIONAL MATCH (c)-[:PARENT_OF]->(baby:Person)
  WITH c, today, since, year_group, schools, changed, possible, absent, exclusions, permanent,
       kinds, count(DISTINCT baby) AS babies, $config.deprived_decile AS deprived
  OPTIONAL MATCH (c)-[l:LIVES_AT]->(x:Address)
  WITH c, year_group, schools, changed, possible, absent, exclusions, permanent, kinds, babies,
       collect(CASE WHEN l.from > since AND l.from <= today AND x.imd_decile <= deprived
                    THEN l.from END) AS arrivals,
       collect(CASE WHEN l.to IS NOT NULL AND x.imd_decile > deprived THEN l.to END)
         AS departures,
       collect(CASE WHEN l.to IS NULL THEN x.postcode_district END) AS areas
  WITH c, year_group, schools, changed, exclusions, permanent, kinds, babies, areas,
       any(n IN arrivals WHERE any(o IN departures WHERE n >= o AND o + duration({days: 92}) > n))
         AS moved,
       CASE WHEN possible > 0 THEN toFloat(possible - absent) / possible END AS attendance
  RETURN c.uid AS uid, year_group, schools[0].name AS school, schools[0].uid AS school_urn,
         areas[0] AS area,
         CASE WHEN attendance IS NULL THEN null ELSE round(attendance * 1000) / 10.0 END
           AS attendance_pct, [f IN [
         CASE WHEN attendance < $config.attendance_severe THEN 'attendance_below_85'
              WHEN attendance < $config.attendance_low THEN 'attendance_below_90' END,
         CASE WHEN permanent > 0 THEN 'permanent_exclusion'
              WHEN exclusions > 0 THEN 'suspension' END,
         CASE WHEN 'EHCP' IN kinds THEN 'ehc_plan' WHEN 'SEN support' IN kinds THEN 'sen_support' END,
         CASE WHEN 'CLA' IN kinds THEN 'looked_after' END,
         CASE WHEN c.young_carer = true THEN 'young_carer' END,
         CASE WHEN c.fsm = true THEN 'free_school_meals' END,
         CASE WHEN c.eal = true THEN 'eal' END,
         CASE WHEN 'YJ' IN kinds THEN 'youth_justice' END,
         CASE WHEN any(x IN schools WHERE x.phase = 'Alternative provision')
              THEN 'alternative_provision' END,
         CASE WHEN babies > 0 THEN 'teenage_parent' END,
         CASE WHEN moved THEN 'moved_into_deprived_area' END,
         CASE WHEN changed THEN 'school_change_mid_year' END
       ] WHERE f IS NOT NULL] AS found
}
// the score first, from every factor found (a weight of 0 adds nothing), so only the
// pupils that make the list are looked up and have their factor list built
WITH uid, year_group, school, school_urn, area, attendance_pct, found,
     reduce(total = 0, f IN found | total + $config.weights[f]) AS score
WHERE score >= $config.low AND ($year_group = 'all' OR toString(year_group) = $year_group)
WITH uid, year_group, school, school_urn, area, attendance_pct, found, score,
     CASE WHEN score >= $config.high THEN 'high'
          WHEN score >= $config.medium THEN 'medium' ELSE 'low' END AS band
WHERE $band = 'all' OR band = $band OR ($band = 'medium or high' AND band IN ['medium', 'high'])
MATCH (c:Person {uid: uid})
RETURN c.uid AS child_uid, c.full_name AS child_name, c.dob AS dob, year_group, school,
       school_urn, area, attendance_pct, score, band,
       [f IN found WHERE $config.weights[f] > 0] AS factors
ORDER BY score DESC, child_name, child_uid
