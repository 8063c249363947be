#!/usr/bin/env node
'use strict';
/**
 * Benchmark entry: `npm run bench -- [suite ...] [--quick] [--filter REGEX] [--list]`.
 * With no suite, runs every suite in benchmarks/suites/ that says it is available. Each suite prints a
 * table and writes benchmarks/results/<suite>-<timestamp>.json with the machine it ran on.
 */
const fs = require('node:fs');
const path = require('node:path');
const { runSuite, printSuite } = require('./lib/harness');
const { machineInfo, machineSummary } = require('./lib/machine');

const SUITES_DIR = path.join(__dirname, 'suites');
const RESULTS_DIR = path.join(__dirname, 'results');

function loadParamscope() {
  try {
    return require('../dist/index.js');
  } catch (error) {
    console.error(`benchmarks need the built package (dist/ and the native addon): run \`npm run compile\` first.\n  cause: ${error.message.split('\n')[0]}`);
    process.exit(2);
  }
}

function availableSuites() {
  return fs.readdirSync(SUITES_DIR).filter((f) => f.endsWith('.js')).map((f) => path.basename(f, '.js')).sort();
}

function parseArgs(argv) {
  const args = { suites: [], quick: false, filter: null, list: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick') args.quick = true;
    else if (a === '--list') args.list = true;
    else if (a === '--filter') args.filter = new RegExp(argv[++i]);
    else if (a === '--help' || a === '-h') args.help = true;
    else if (a.startsWith('-')) throw new Error(`unknown option ${a}`);
    else args.suites.push(a);
  }
  return args;
}

async function main() {
  let args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (error) {
    console.error(error.message);
    process.exit(2);
  }
  const names = availableSuites();
  if (args.help || args.list) {
    console.log(`usage: npm run bench -- [suite ...] [--quick] [--filter REGEX] [--list]\nsuites: ${names.join(', ')}`);
    return;
  }
  const unknown = args.suites.filter((s) => !names.includes(s));
  if (unknown.length) {
    console.error(`unknown suite(s): ${unknown.join(', ')} (available: ${names.join(', ')})`);
    process.exit(2);
  }
  const paramscope = loadParamscope();
  const machine = machineInfo(paramscope);
  console.log(`machine: ${machineSummary(machine)}`);
  const ctx = { paramscope, quick: args.quick, filter: args.filter, log: (m) => console.error(m), dataDir: path.join(__dirname, 'data') };
  let failed = false;
  for (const name of args.suites.length ? args.suites : names) {
    const suite = require(path.join(SUITES_DIR, `${name}.js`));
    const available = suite.available ? suite.available(ctx) : true;
    if (available !== true) {
      console.log(`\n== ${name}: skipped (${available})`);
      if (args.suites.length) failed = true;
      continue;
    }
    console.error(`running suite ${name}${args.quick ? ' (quick)' : ''}`);
    const report = await runSuite({ name, ...suite }, ctx);
    printSuite(report);
    fs.mkdirSync(RESULTS_DIR, { recursive: true });
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    const file = path.join(RESULTS_DIR, `${name}-${stamp}.json`);
    fs.writeFileSync(file, JSON.stringify({ schema: 'paramscope-bench/1', date: new Date().toISOString(), quick: args.quick, argv: process.argv.slice(2), machine, ...report }, null, 1));
    console.log(`  results: ${path.relative(process.cwd(), file)}`);
    if (report.results.some((r) => r.target && r.target.pass === false)) failed = true;
  }
  // Missed targets are reported, not fatal: exit 0 so CI can record them; PARAMSCOPE_BENCH_STRICT=1 makes them fail.
  if (failed && process.env.PARAMSCOPE_BENCH_STRICT === '1') process.exitCode = 1;
}

main().catch((error) => {
  console.error(error && error.stack ? error.stack : error);
  process.exit(1);
});
