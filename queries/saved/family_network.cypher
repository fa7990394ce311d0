MATCH (c:Person {uid: $child})
MATCH path = (c)-[:PARENT_OF*1..3]-(m:Person)
WHERE length(path) <= $hops AND m.uid <> c.uid
WITH c, m, min(length(path)) AS steps
OPTIONAL MATCH (m)-[:HAS_CASE]->(k:Case {status: 'open'})
RETURN m.uid AS person_uid, m.full_name AS name, m.dob AS dob, steps,
       collect(DISTINCT k.kind) AS open_cases
ORDER BY steps, name
