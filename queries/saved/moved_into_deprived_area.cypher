WITH date($as_of) AS today
WITH today, today - duration({months: 12}) AS since
// Only someone who arrived in the window can have moved a child in it: the child, or a
// parent the child lives with. The move's day is worked out for them alone.
MATCH (who:Person)-[r:LIVES_AT]->(a:Address)
WHERE r.to IS NULL AND r.from > since AND a.imd_decile <= 2
MATCH (c:Child)-[cr:LIVES_AT]->(a)
WHERE cr.to IS NULL AND (c = who OR (who)-[:PARENT_OF]->(c))
WITH DISTINCT c, a, today, since, cr.from AS own_from
OPTIONAL MATCH (c)<-[:PARENT_OF]-(parent:Person)
OPTIONAL MATCH (parent)-[pr:LIVES_AT]->(pa:Address)
WITH c, a, today, since, own_from,
     collect(CASE WHEN pr.to IS NULL AND pa.uid = a.uid THEN pr.from END) AS parent_froms
// a home a child has had since the day they were born is not one they moved into
WITH c, a, today, since,
     [x IN parent_froms + [CASE WHEN c.dob IS NULL OR own_from > c.dob THEN own_from END]
      WHERE x IS NOT NULL] AS starts
WHERE size(starts) > 0
WITH c, a, today, since,
     reduce(m = starts[0], x IN starts | CASE WHEN x > m THEN x ELSE m END) AS moved
WHERE moved > since AND moved <= today
OPTIONAL MATCH (c)<-[:PARENT_OF]-(:Person)-[old:LIVES_AT]->(prev:Address)
WITH c, a, moved,
     collect(CASE WHEN moved >= old.to AND old.to + duration({days: 92}) > moved AND prev.uid <> a.uid
                  THEN prev.imd_decile END) AS parents_before
OPTIONAL MATCH (c)-[own:LIVES_AT]->(mine:Address)
WITH c, a, moved, parents_before,
     collect(CASE WHEN moved >= own.to AND own.to + duration({days: 92}) > moved AND mine.uid <> a.uid
                  THEN mine.imd_decile END) AS own_before
WITH c, a, moved, parents_before + own_before AS before
WHERE size(before) = 0 OR any(d IN before WHERE d > 2)
RETURN c.uid AS child_uid, c.full_name AS child_name, moved AS moved_on,
       CASE WHEN size(before) = 0 THEN 'not known' ELSE 'less deprived' END AS moved_from,
       a.imd_decile AS to_decile, a.postcode_district AS district, a.lat AS lat, a.lon AS lon
ORDER BY moved_on DESC, child_name, child_uid
