WITH date($as_of) AS today
WITH today, today - duration({months: 12}) AS since
MATCH (c:Person)
WHERE c.open_service_count > 0
WITH c, today, since WHERE c:Child AND any(kind IN c.open_case_kinds WHERE kind <> 'HV')
MATCH (c)-[a:ATTENDANCE]->()
WHERE a.term_start > since AND a.term_start <= today
WITH c, sum(a.absent) AS absent, sum(a.possible) AS possible
WHERE possible > 0 AND toFloat(absent) / possible >= $threshold
RETURN c.uid AS child_uid, c.full_name AS child_name,
       round(1000.0 * absent / possible) / 10.0 AS absence_percent,
       [kind IN c.open_case_kinds WHERE kind <> 'HV'] AS open_cases
ORDER BY absence_percent DESC, child_name, child_uid
