// Spectra and rank metrics of every weight matrix, streamed as the engine finishes each one.
// Run: node examples/analyze-spectra.mjs [checkpoint]   (default: the demo's base checkpoint)
import * as os from 'node:os';
import * as path from 'node:path';
import { analyze, formatBounded } from 'paramscope';

const file = process.argv[2] ?? path.join(os.tmpdir(), 'paramscope-demo', 'base.safetensors');
const controller = new AbortController(); // controller.abort() would stop the engine within one panel
for await (const t of analyze(file, { mode: 'truncated', rank: 16, include: ['*.mlp.*'], signal: controller.signal })) {
  const m = t.metrics;
  console.log(
    `${t.name} [${t.rows}×${t.cols}] σ₁=${m.spectralNorm.toFixed(3)} stable rank=${m.stableRank.toFixed(1)} ` +
      `eff. rank ratio=${formatBounded(m.energyEffectiveRankRatio)} (max error of σ₁: ${t.spectrum.errorBounds[0].toExponential(1)})`,
  );
}
