MATCH (c:Child)
WHERE c.young_carer = true
OPTIONAL MATCH (c)-[r:ATTENDS]->(s:School)
WHERE r.to IS NULL
RETURN c.uid AS child_uid, c.full_name AS child_name, c.dob AS dob,
       collect(DISTINCT s.name) AS school
ORDER BY child_name
