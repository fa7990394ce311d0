MATCH (c:Person {uid: $child})
OPTIONAL MATCH (c)-[:PARENT_OF*1..2]-(m:Person)
WITH c, collect(DISTINCT m) AS others
UNWIND [c] + others AS member
MATCH (member)-[r:LIVES_AT]->(a:Address)-[:HAS_NOTE]->(n:Note {kind: 'safety'})
WHERE r.to IS NULL
RETURN DISTINCT a.line1 AS address, a.postcode AS postcode, n.text AS note,
       n.author AS recorded_by, n.at AS recorded_at
ORDER BY address
