MATCH (c:Person)-[:HAS_CASE]->(k:Case {kind: 'CLA', status: 'open'})
WHERE k.placement_out_of_area = true
RETURN c.uid AS child_uid, c.full_name AS child_name, k.kind AS kind, k.placement_la AS placed_in,
       k.start AS since
ORDER BY since
