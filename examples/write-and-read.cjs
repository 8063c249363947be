// Write a safetensors file (BF16 and F32 tensors, metadata) and read it back, from CommonJS.
// Run: node examples/write-and-read.cjs
const os = require('node:os');
const path = require('node:path');
const { writeSafetensors, encodeFloat32, openCheckpoint } = require('paramscope');

async function main() {
  const file = path.join(os.tmpdir(), 'paramscope-example.safetensors');
  const weights = Float32Array.from({ length: 6 }, (_, i) => i / 4);
  await writeSafetensors(
    file,
    {
      'layer.weight': { dtype: 'BF16', shape: [2, 3], data: encodeFloat32(weights, 'BF16') },
      'layer.bias': { dtype: 'F32', shape: [2], data: new Float32Array([0.5, -0.5]) },
    },
    { format: 'pt' },
  );
  const ckpt = await openCheckpoint(file);
  const { data, shape } = await ckpt.read('layer.weight');
  console.log(`layer.weight [${shape}] =`, Array.from(data), 'metadata:', ckpt.metadata);
  ckpt.close();
}
main().catch((error) => {
  console.error(`${error.code}: ${error.message}`);
  process.exit(2);
});
