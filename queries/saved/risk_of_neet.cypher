WITH date($as_of) AS today
WITH today, CASE WHEN today.month >= 9 THEN today.year ELSE today.year - 1 END AS ay,
     today - duration({days: $config.window_days}) AS since
MATCH (c:Child)-[r:ATTENDS]->(s:School)
WHERE c.dob >= date({year: ay - 16, month: 9, day: 1})
  AND c.dob < date({year: ay - 12, month: 9, day: 1})
  AND r.from <= today AND (r.to IS NULL OR r.to > today)
  AND s.phase IN ['Primary', 'Secondary', 'Special', 'Alternative provision']
WITH c, today, since,
     11 - size([y IN range(ay - 15, ay - 13) WHERE c.dob >= date({year: y, month: 9, day: 1})])
       AS year_group,
     collect(DISTINCT s) AS schools
WHERE year_group IN $config.year_groups AND ($year_group = 'all' OR toString(year_group) = $year_group)
OPTIONAL MATCH (c)-[a:ATTENDANCE]->(:School)
WHERE a.term_start > since AND a.term_start <= today
WITH c, today, since, year_group, schools, sum(a.possible) AS possible, sum(a.absent) AS absent
OPTIONAL MATCH (c)-[e:EXCLUDED]->(:School)
WHERE e.date > since AND e.date <= today
WITH c, today, since, year_group, schools, possible, absent, count(e) AS exclusions,
     sum(CASE WHEN e.kind = 'PERM' THEN 1 ELSE 0 END) AS permanent
OPTIONAL MATCH (c)-[:HAS_CASE]->(k:Case)
WHERE (k.status = 'open' AND coalesce(k.start, today) <= today)
  OR (k.kind = 'YJ' AND k.start <= today
      AND (k.end IS NULL OR k.end > today - duration({days: $config.yj_window_days})))
WITH c, today, since, year_group, schools, possible, absent, exclusions, permanent,
     collect(DISTINCT k.kind) AS kinds
OPTIONAL MATCH (c)-[:PARENT_OF]->(baby:Person)
WITH c, today, since, year_group, schools, possible, absent, exclusions, permanent, kinds,
     count(DISTINCT baby) AS babies
OPTIONAL MATCH (c)-[now:LIVES_AT]->(na:Address)
WHERE now.from > since AND now.from <= today AND na.imd_decile <= $config.deprived_decile
OPTIONAL MATCH (c)-[old:LIVES_AT]->(oa:Address)
WHERE now IS NOT NULL AND old.to IS NOT NULL AND now.from >= old.to
  AND old.to + duration({days: 92}) > now.from AND oa.imd_decile > $config.deprived_decile
WITH c, today, since, year_group, schools, possible, absent, exclusions, permanent, kinds,
     babies, count(oa) > 0 AS moved
OPTIONAL MATCH (c)-[joined:ATTENDS]->(new:School)
WHERE joined.from > since AND joined.from <= today
  AND none(y IN range(today.year - 1, today.year) WHERE joined.from >= date({year: y, month: 8, day: 1})
           AND joined.from < date({year: y, month: 10, day: 1}))
// an earlier school: on its roll, or in its attendance returns
OPTIONAL MATCH (c)-[left:ATTENDS|ATTENDANCE]->(old:School)
WHERE joined IS NOT NULL AND old.uid <> new.uid
  AND coalesce(left.from, left.term_start) < joined.from
WITH c, year_group, schools, possible, absent, exclusions, permanent, kinds, babies, moved,
     count(left) > 0 AS changed,
     CASE WHEN possible > 0 THEN toFloat(possible - absent) / possible END AS attendance
WITH c, year_group, schools, attendance, [f IN [
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
     ] WHERE f IS NOT NULL AND $config.weights[f] > 0] AS factors
WITH c, year_group, schools, attendance, factors,
     reduce(total = 0, f IN factors | total + $config.weights[f]) AS score
WHERE score >= $config.low
WITH c, year_group, schools, attendance, factors, score,
     CASE WHEN score >= $config.high THEN 'high'
          WHEN score >= $config.medium THEN 'medium' ELSE 'low' END AS band
WHERE $band = 'all' OR band = $band OR ($band = 'medium or high' AND band IN ['medium', 'high'])
OPTIONAL MATCH (c)-[home:LIVES_AT]->(h:Address)
WHERE home.to IS NULL
RETURN c.uid AS child_uid, c.full_name AS child_name, c.dob AS dob, year_group,
       schools[0].name AS school, schools[0].uid AS school_urn,
       collect(h.postcode_district)[0] AS area,
       CASE WHEN attendance IS NULL THEN null ELSE round(attendance * 1000) / 10.0 END
         AS attendance_pct,
       score, band, factors
ORDER BY score DESC, child_name
