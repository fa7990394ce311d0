MATCH (c:Child)-[:HAS_CASE]->(k:Case {status: 'open'})-[:WITH_SERVICE]->(s:Service)
WITH c, collect(DISTINCT s.name) AS services
WHERE size(services) >= $min_services
RETURN c.uid AS child_uid, c.full_name AS child_name, c.dob AS dob, size(services) AS count,
       services
ORDER BY count DESC, child_name
