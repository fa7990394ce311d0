MATCH (t:Team)<-[:IN_TEAM]-(p:Professional)
OPTIONAL MATCH (p)-[w:WORKS_ON]->(k:Case {status: 'open'})
WHERE w.to IS NULL
RETURN t.uid AS team_uid, t.name AS team, count(DISTINCT p) AS professionals,
       count(DISTINCT k) AS open_cases
ORDER BY open_cases DESC, team
