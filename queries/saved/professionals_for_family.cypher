MATCH (c:Person {uid: $child})
OPTIONAL MATCH (c)-[:PARENT_OF*1..2]-(m:Person)
WITH c, collect(DISTINCT m) AS others
UNWIND [c] + others AS member
MATCH (member)-[:HAS_CASE]->(k:Case {status: 'open'})<-[w:WORKS_ON]-(p:Professional)
WHERE w.to IS NULL
RETURN p.name AS professional, p.role AS role, p.team AS team, p.email AS email,
       p.phone AS phone, collect(DISTINCT member.uid) AS for_uids,
       collect(DISTINCT member.full_name) AS for_people,
       collect(DISTINCT k.kind) AS case_kinds
ORDER BY professional
