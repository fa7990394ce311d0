WITH date($as_of) AS today
WITH today, today - duration({days: $days}) AS since
MATCH (c:Person)-[:WENT_MISSING]->(m:MissingEpisode)
WHERE m.start > since AND m.start <= today
WITH c, count(m) AS times, max(m.start) AS latest
// the home: the postcode the latest period of care began from, else where they live now
OPTIONAL MATCH (c)-[:LOOKED_AFTER]->(p:PeriodOfCare)-[:HAS_EPISODE]->(e:Episode)
WITH c, times, latest, e
ORDER BY p.start DESC, e.start
WITH c, times, latest,
     [x IN collect(e.home_postcode) WHERE x IS NOT NULL] AS home_postcodes
OPTIONAL MATCH (c)-[l:LIVES_AT]->(now:Address)
WITH c, times, latest, home_postcodes,
     collect(CASE WHEN l.to IS NULL THEN now.postcode END) AS own_postcodes
WITH c, times, latest,
     coalesce(home_postcodes[0], [x IN own_postcodes WHERE x IS NOT NULL][0]) AS home
OPTIONAL MATCH (a:Address)
WHERE a.postcode = home
OPTIONAL MATCH (a)<-[ol:LIVES_AT]-(other:Child)
WHERE ol.to IS NULL AND other.uid <> c.uid
RETURN c.uid AS child_uid, c.full_name AS child_name, 'CLA' AS kind,
       times AS times_missing, latest AS latest_missing, home AS home_postcode,
       collect(DISTINCT other.uid) AS other_children_uids,
       collect(DISTINCT other.full_name) AS other_children
ORDER BY latest_missing DESC, child_uid
