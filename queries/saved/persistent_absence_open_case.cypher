MATCH (c:Child)-[a:ATTENDANCE]->(:School)
WHERE a.term_start > date($as_of) - duration({months: 12}) AND a.term_start <= date($as_of)
WITH c, sum(a.absent) AS absent, sum(a.possible) AS possible
WHERE possible > 0 AND toFloat(absent) / possible >= $threshold
MATCH (c)-[:HAS_CASE]->(k:Case {status: 'open'})
WHERE k.kind <> 'HV'
RETURN c.uid AS child_uid, c.full_name AS child_name,
       round(1000.0 * absent / possible) / 10.0 AS absence_percent,
       collect(DISTINCT k.kind) AS open_cases
ORDER BY absence_percent DESC, child_name
