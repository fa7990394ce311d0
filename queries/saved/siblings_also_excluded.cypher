MATCH (:School)<-[e:EXCLUDED]-(c:Child)
WHERE e.date >= date($since)
WITH c, count(DISTINCT e) AS exclusions
MATCH (c)<-[:PARENT_OF]-(:Person)-[:PARENT_OF]->(s:Child)-[e2:EXCLUDED]->(:School)
WHERE s.uid <> c.uid AND e2.date >= date($since)
RETURN c.uid AS child_uid, c.full_name AS child_name, exclusions,
       collect(DISTINCT s.uid) AS sibling_uids, collect(DISTINCT s.full_name) AS siblings_excluded
ORDER BY child_name
