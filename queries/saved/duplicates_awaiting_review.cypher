MATCH (r:ReviewPair {status: 'pending'})-[:CANDIDATE]->(p:Person)
WITH r, p ORDER BY p.uid
WITH r, collect(p) AS people
WHERE size(people) = 2
RETURN r.uid AS pair_uid, r.probability AS probability, r.agreed AS agreed,
       people[0].uid AS first_uid, people[0].full_name AS first_name, people[0].dob AS first_dob,
       people[1].uid AS second_uid, people[1].full_name AS second_name,
       people[1].dob AS second_dob
ORDER BY probability DESC, pair_uid
