MATCH (p:Professional)
OPTIONAL MATCH (p)-[w:WORKS_ON]->(k:Case {status: 'open'})
WHERE w.to IS NULL
RETURN p.uid AS professional_uid, p.name AS professional, p.role AS role, p.team AS team,
       count(k) AS open_cases
ORDER BY open_cases DESC, professional
