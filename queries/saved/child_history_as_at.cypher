MATCH (c:Person {uid: $child})
OPTIONAL MATCH (c)-[r:LIVES_AT]->(a:Address)
WHERE (r.from IS NULL OR r.from <= date($as_of)) AND (r.to IS NULL OR r.to > date($as_of))
WITH c, collect(DISTINCT a.line1 + ', ' + a.postcode) AS addresses
OPTIONAL MATCH (c)-[e:ATTENDS]->(s:School)
WHERE (e.from IS NULL OR e.from <= date($as_of)) AND (e.to IS NULL OR e.to > date($as_of))
WITH c, addresses, collect(DISTINCT s.name) AS schools
OPTIONAL MATCH (c)-[:HAS_CASE]->(k:Case)
WHERE k.start <= date($as_of) AND (k.end IS NULL OR k.end > date($as_of))
RETURN c.uid AS child_uid, c.full_name AS child_name, addresses, schools,
       collect(DISTINCT k.kind) AS open_cases
