MATCH (c:Person)-[:HAS_NEED]->(:Need {uid: $need})
MATCH (c)-[o:OFFERED]->(s:School)
RETURN s.uid AS school_uid, s.name AS school, o.entry_point AS entry_point, o.start AS starts,
       c.uid AS child_uid, c.full_name AS child_name
ORDER BY school, child_name, child_uid
