MATCH (c:Person)
WHERE c.open_service_count > 0 AND 'send' IN c.open_services
WITH c WHERE c:Child
// step and foster parents do not make a full or half sibling; a child's own parents are
// gathered in the same walk that goes on to their other children
MATCH (c)<-[r1:PARENT_OF]-(p:Person)
WHERE NOT r1.kind IN ['step', 'foster']
WITH c, collect(DISTINCT p) AS parents
UNWIND parents AS p
MATCH (p)-[r2:PARENT_OF]->(s:Person)
WHERE s.uid <> c.uid AND NOT r2.kind IN ['step', 'foster']
WITH c, size(parents) AS child_parents, s, collect(DISTINCT p.uid) AS shared
// parents counted with CASE rather than a WHERE on the optional match (much faster on
// FalkorDB)
OPTIONAL MATCH (s)<-[rs:PARENT_OF]-(sp:Person)
WITH c, child_parents, s, shared,
     count(DISTINCT CASE WHEN NOT rs.kind IN ['step', 'foster'] THEN sp.uid END)
       AS sibling_parents
RETURN c.uid AS child_uid, c.full_name AS child_name,
       [k IN c.open_case_kinds WHERE k IN ['EHCP', 'SEN support']] AS send_cases, s.uid AS sibling_uid,
       s.full_name AS sibling_name, s.dob AS sibling_dob,
       CASE WHEN size(shared) >= 2 OR (size(shared) = child_parents
                                       AND size(shared) = sibling_parents)
            THEN 'full' ELSE 'half' END AS sibling
ORDER BY child_name, child_uid, sibling_name
