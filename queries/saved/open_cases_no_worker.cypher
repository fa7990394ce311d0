MATCH (c:Person)-[:HAS_CASE]->(k:Case {status: 'open'})-[:WITH_SERVICE]->(s:Service)
WHERE ($kind = 'any' OR k.kind = $kind)
OPTIONAL MATCH (k)<-[w:WORKS_ON]-(:Professional)
WHERE w.to IS NULL
WITH c, k, s, count(w) AS workers
WHERE workers = 0
RETURN k.uid AS case_uid, k.kind AS kind, s.name AS service, k.start AS opened,
       c.uid AS child_uid, c.full_name AS child_name
ORDER BY opened
