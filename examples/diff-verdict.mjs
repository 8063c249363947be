// What did a fine-tune change? ΔW spectra, noise floor, and the concentrated-vs-dispersed verdict.
// Run: node examples/diff-verdict.mjs [base] [tuned]   (default: the demo's base and dispersed fine-tune)
import * as os from 'node:os';
import * as path from 'node:path';
import { diff, ensureExample } from 'paramscope';

const example = ensureExample(path.join(os.tmpdir(), 'paramscope-demo'));
const [base = example.base, tuned = example.dispersed] = process.argv.slice(2);
const report = await diff(base, tuned, { mode: 'truncated', rank: 32 });
const { verdict, aggregates } = report;
console.log(`${verdict.label} (score ${verdict.score.toFixed(2)}, confidence ${verdict.confidence})`);
console.log(`relative update ‖ΔW‖/‖W‖ = ${aggregates.model.relativeUpdate.toExponential(2)}, ` +
  `${aggregates.model.matricesWithSignal}/${aggregates.model.matrices} matrices above bf16 noise`);
for (const d of verdict.drivers.slice(0, 3)) console.log(`  ${d.name}: ${(100 * d.energyShare).toFixed(1)}% of the update`);
