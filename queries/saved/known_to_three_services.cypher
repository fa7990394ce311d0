MATCH (c:Person)
WHERE c.open_service_count >= $min_services
WITH c WHERE c:Child
MATCH (c)-[:HAS_CASE]->(k:Case {status: 'open'})-[:WITH_SERVICE]->(s:Service)
WITH c, s.name AS service ORDER BY service
WITH c, collect(DISTINCT service) AS services
RETURN c.uid AS child_uid, c.full_name AS child_name, c.dob AS dob, size(services) AS count,
       services
ORDER BY count DESC, child_name
