#!/usr/bin/env node
'use strict';
// Regenerates docs/report.schema.json and the field reference in docs/schema.md from lib/report/schema.ts,
// docs/events.schema.json and the field reference in docs/events.md from lib/report/events-schema.ts,
// docs/trajectory.schema.json and the field reference in docs/trajectory.md from lib/report/trajectory-schema.ts,
// and docs/comparison.schema.json with the field reference in docs/comparison.md from lib/report/comparison/schema.ts
// (with lib/report/schema-doc.ts, via the compiled dist/report/: run `npm run build:ts` first). A test
// fails when any of them is out of date: run `npm run build:ts && node scripts/gen-report-schema.js` after
// changing the report or the events.
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
let schema, schemaDoc, eventsSchema, trajectorySchema, comparisonSchema;
try {
  schema = require(path.join(root, 'dist', 'report', 'schema.js'));
  schemaDoc = require(path.join(root, 'dist', 'report', 'schema-doc.js'));
  eventsSchema = require(path.join(root, 'dist', 'report', 'events-schema.js'));
  trajectorySchema = require(path.join(root, 'dist', 'report', 'trajectory-schema.js'));
  comparisonSchema = require(path.join(root, 'dist', 'report', 'comparison', 'schema.js'));
} catch (e) {
  console.error(`gen-report-schema: cannot load dist/report/schema.js, schema-doc.js and events-schema.js (${e.message}); run \`npm run build:ts\` first`);
  process.exit(1);
}
fs.writeFileSync(path.join(root, 'docs', 'report.schema.json'), schema.reportSchemaText());
const page = path.join(root, 'docs', 'schema.md');
fs.writeFileSync(page, schemaDoc.updateSchemaDoc(fs.readFileSync(page, 'utf8')));
fs.writeFileSync(path.join(root, 'docs', 'events.schema.json'), eventsSchema.eventsSchemaText());
const eventsPage = path.join(root, 'docs', 'events.md');
fs.writeFileSync(eventsPage, schemaDoc.updateEventsDoc(fs.readFileSync(eventsPage, 'utf8')));
fs.writeFileSync(path.join(root, 'docs', 'trajectory.schema.json'), trajectorySchema.trajectorySchemaText());
const trajectoryPage = path.join(root, 'docs', 'trajectory.md');
fs.writeFileSync(trajectoryPage, schemaDoc.updateTrajectoryDoc(fs.readFileSync(trajectoryPage, 'utf8')));
fs.writeFileSync(path.join(root, 'docs', 'comparison.schema.json'), comparisonSchema.comparisonSchemaText());
const comparisonPage = path.join(root, 'docs', 'comparison.md');
fs.writeFileSync(comparisonPage, schemaDoc.updateComparisonDoc(fs.readFileSync(comparisonPage, 'utf8')));
