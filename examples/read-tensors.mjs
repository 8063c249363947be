// Open a checkpoint, list its tensors, read one decoded to f32 and one as raw stored bits.
// Run: node examples/read-tensors.mjs [checkpoint]   (default: the demo's base checkpoint)
import * as os from 'node:os';
import * as path from 'node:path';
import { openCheckpoint } from 'paramscope';

const file = process.argv[2] ?? path.join(os.tmpdir(), 'paramscope-demo', 'base.safetensors');
const ckpt = await openCheckpoint(file);
try {
  console.log(`${ckpt.path}: ${ckpt.tensors.length} tensors, ${(ckpt.totalBytes / 1e6).toFixed(1)} MB`);
  const first = ckpt.tensors.find((t) => t.shape.length === 2) ?? ckpt.tensors[0];
  const decoded = await ckpt.read(first.name); // Float32Array, decoded off the event loop
  let sumOfSquares = 0;
  for (const v of decoded.data) sumOfSquares += v * v;
  console.log(`${first.name} ${first.dtype} [${first.shape}]: ‖W‖_F = ${Math.sqrt(sumOfSquares).toFixed(4)}`);
  const raw = await ckpt.read(first.name, { as: 'raw', rows: [0, 1], zeroCopy: true }); // first row, stored bits
  console.log(`first row as stored: ${raw.data.constructor.name}(${raw.data.length}), zero-copy: ${raw.zeroCopy}`);
} finally {
  ckpt.close();
}
