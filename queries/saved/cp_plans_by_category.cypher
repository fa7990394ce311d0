WITH date($as_of) AS today
MATCH (c:Person)-[:HAS_CP_PLAN]->(p:CPPlan)
WHERE p.start <= today AND (p.end IS NULL OR p.end > today)
WITH c, coalesce(p.latest_category, p.initial_category) AS category
OPTIONAL MATCH (c)<-[:PARENT_OF]-(:Person)-[:PARENT_OF]->(s1:Child)
WITH c, category, collect(DISTINCT s1) AS by_parent
OPTIONAL MATCH (c)-[:MEMBER_OF]->(:Family)<-[:MEMBER_OF]-(s2:Child)
WITH c, category, by_parent, collect(DISTINCT s2) AS by_family
WITH c, category, by_parent + by_family AS siblings
UNWIND CASE WHEN size(siblings) = 0 THEN [null] ELSE siblings END AS s
// known to social care: any social care case, or any referral, open or closed
OPTIONAL MATCH (s)-[:HAS_CASE]->(k:Case)-[:WITH_SERVICE]->(:Service {uid: 'social-care'})
OPTIONAL MATCH (s)-[:REFERRED]->(r:Referral)
WITH c, category, s, count(k) + count(r) AS known
WITH c, category,
     collect(DISTINCT CASE WHEN s IS NOT NULL AND s.uid <> c.uid AND known = 0 THEN s END)
       AS unknown
RETURN category, c.uid AS child_uid, c.full_name AS child_name, 'CP' AS kind,
       [x IN unknown | x.uid] AS siblings_not_known_uids,
       [x IN unknown | x.full_name] AS siblings_not_known
ORDER BY category, child_uid
