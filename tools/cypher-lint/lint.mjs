// Lint Cypher with Neo4j's own linter (@neo4j-cypher/language-support).
//
// stdin:  {"schema": {"labels": [...], "relationshipTypes": [...], "propertyKeys": [...]},
//          "queries": [{"name": "...", "text": "...", "parameters": ["p", ...]}]}
// stdout: [{"name": "...", "diagnostics": [{"severity": 1|2, "message": "...",
//           "line": n, "character": n}]}]
//
// Functions and procedures come from the registry of a real Neo4j 5 server that the
// package ships for its own tests, minus APOC and GDS (not in Neo4j Community, and
// never in FalkorDB): calling one of those, or a FalkorDB-only function such as
// distance(), is then reported as an error.
import { readFileSync } from 'node:fs';
import { lintCypherQuery } from '@neo4j-cypher/language-support';
import { testData } from './node_modules/@neo4j-cypher/language-support/dist/esm/project/language-support/src/tests/testData.js';

const input = JSON.parse(readFileSync(0, 'utf8'));
const notCommunity = (name) => name.startsWith('apoc.') || name.startsWith('gds.');
const prune = (registry) =>
  Object.fromEntries(
    Object.entries(registry).map(([version, entries]) => [
      version,
      Object.fromEntries(Object.entries(entries).filter(([name]) => !notCommunity(name))),
    ]),
  );

const base = {
  labels: input.schema.labels,
  relationshipTypes: input.schema.relationshipTypes,
  propertyKeys: input.schema.propertyKeys,
  functions: prune(testData.mockSchema.functions),
  procedures: prune(testData.mockSchema.procedures),
};

const out = input.queries.map((q) => {
  const schema = { ...base, parameters: Object.fromEntries((q.parameters || []).map((p) => [p, null])) };
  const { diagnostics } = lintCypherQuery(q.text, schema);
  return {
    name: q.name,
    diagnostics: diagnostics.map((d) => ({
      severity: d.severity,
      message: d.message,
      line: d.range.start.line + 1,
      character: d.range.start.character + 1,
    })),
  };
});
process.stdout.write(JSON.stringify(out));
