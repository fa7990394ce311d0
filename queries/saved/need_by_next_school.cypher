MATCH (c:Person)-[:HAS_NEED]->(:Need {uid: $need})
MATCH (c)-[o:OFFERED]->(s:School)
RETURN s.uid AS school_uid, s.name AS school, o.entry_point AS entry_point, o.start AS starts,
       collect(c.full_name) AS children, count(c) AS count
ORDER BY school
