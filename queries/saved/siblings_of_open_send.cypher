MATCH (c:Person)
WHERE c.open_service_count > 0 AND 'send' IN c.open_services
WITH c WHERE c:Child
// parents counted with CASE rather than a WHERE on the optional match (much faster on
// FalkorDB); step and foster parents do not make a full or half sibling
OPTIONAL MATCH (c)<-[rc:PARENT_OF]-(cp:Person)
WITH c, count(DISTINCT CASE WHEN NOT rc.kind IN ['step', 'foster'] THEN cp.uid END)
          AS child_parents
MATCH (c)<-[r1:PARENT_OF]-(p:Person)-[r2:PARENT_OF]->(s:Person)
WHERE s.uid <> c.uid AND NOT r1.kind IN ['step', 'foster'] AND NOT r2.kind IN ['step', 'foster']
WITH c, child_parents, s, collect(DISTINCT p.uid) AS shared
OPTIONAL MATCH (s)<-[rs:PARENT_OF]-(sp:Person)
WITH c, child_parents, s, shared,
     count(DISTINCT CASE WHEN NOT rs.kind IN ['step', 'foster'] THEN sp.uid END)
       AS sibling_parents
RETURN c.uid AS child_uid, c.full_name AS child_name, s.uid AS sibling_uid,
       s.full_name AS sibling_name, s.dob AS sibling_dob,
       CASE WHEN size(shared) >= 2 OR (size(shared) = child_parents
                                       AND size(shared) = sibling_parents)
            THEN 'full' ELSE 'half' END AS sibling
ORDER BY child_name, child_uid, sibling_name
