WITH date($as_of) AS today
WITH today, today - duration({months: 12}) AS since
MATCH (c:Person)-[:LOOKED_AFTER]->(:PeriodOfCare)-[:HAS_EPISODE]->(e:Episode)
WHERE e.placement_change = true AND e.start > since AND e.start <= today
WITH c, count(DISTINCT e) AS moves, max(e.start) AS latest_move
WHERE moves >= $moves
OPTIONAL MATCH (c)-[:LOOKED_AFTER]->(p:PeriodOfCare)
WITH c, moves, latest_move, p
ORDER BY p.start DESC
WITH c, moves, latest_move, collect(p)[0] AS period
RETURN c.uid AS child_uid, c.full_name AS child_name, 'CLA' AS kind, moves, latest_move, period.placement_type AS placement_now,
       period.start AS looked_after_since
ORDER BY moves DESC, latest_move DESC, child_uid
