MATCH (k:Case {status: 'open'})
WHERE k.workers = 0 AND ($kind = 'any' OR k.kind = $kind)
MATCH (c:Person)-[:HAS_CASE]->(k)-[:WITH_SERVICE]->(s:Service)
RETURN k.uid AS case_uid, k.kind AS kind, s.name AS service, k.start AS opened,
       c.uid AS child_uid, c.full_name AS child_name
ORDER BY opened
