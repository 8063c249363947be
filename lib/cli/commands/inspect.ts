/** `paramscope inspect <path>`: the tensors of a checkpoint with totals per dtype and per shard. */
import { layoutLabel, type LogicalView, logicalView } from '../../plan/layouts/logical';
import { openCheckpoint, type Checkpoint } from '../../read/checkpoint';
import { formatCount, formatMB, formatShape } from '../output/numbers';
import { allRowsFlagHelp, allRowsFlagOption, distinct, renderLongTable } from '../output/long-table';
import { renderTable } from '../output/table';
import { terminalText } from '../output/terminal-text';
import type { CommandContext } from '../context';

export const inspectUsage = `Usage: paramscope inspect <checkpoint> [--json] [--all] [--no-mmap]

Lists every tensor of a checkpoint (a .safetensors file, a directory of shards, or an index.json)
with dtype, shape, parameter count and size, then totals per dtype and per shard. Quantized weights
show their logical dtype ("FP8 block 128×128", "FP8 per-channel", "MXFP4") and their scales what they
belong to; fused expert tensors their expert count and orientation; unsupported quantizations are named.

  --json                print one JSON document instead of tables
${allRowsFlagHelp}
  --no-mmap             read with pread instead of memory-mapping`;

interface Totals {
  tensors: number;
  parameters: number;
  bytes: number;
}

function add(map: Map<string, Totals>, key: string, parameters: number, bytes: number) {
  const t = map.get(key) ?? { tensors: 0, parameters: 0, bytes: 0 };
  t.tensors += 1;
  t.parameters += parameters;
  t.bytes += bytes;
  map.set(key, t);
}

export function summarize(ckpt: Checkpoint) {
  const byDtype = new Map<string, Totals>();
  const byShard = new Map<string, Totals>();
  for (const t of ckpt.tensors) {
    add(byDtype, t.dtype, t.numel, t.bytes);
    add(byShard, t.file, t.numel, t.bytes);
  }
  const total = { tensors: ckpt.tensors.length, parameters: 0, bytes: 0 };
  for (const t of byDtype.values()) {
    total.parameters += t.parameters;
    total.bytes += t.bytes;
  }
  return { byDtype, byShard, total };
}

/** Per stored tensor, what the layouts make of it: "FP8 block 128×128", "scale of x", "4 experts [out, in]". */
function layoutOf(view: LogicalView): Map<string, string> {
  const out = new Map<string, string>();
  for (const [name, what] of view.companions) out.set(name, what);
  for (const t of view.tensors) {
    const parts = [t.quantized ? layoutLabel(t) : '', t.experts ? `${t.experts.count} experts [${t.experts.orientation === 'out-in' ? 'out, in' : 'in, out'}]${t.experts.gateUp ? ` gate/up ${t.experts.gateUp}` : ''}` : ''].filter(Boolean);
    if (t.name !== t.tensor) parts.push(`logical ${t.name}`);
    if (parts.length) out.set(t.tensor, parts.join(', '));
  }
  return out;
}

/** The --json fields the layouts add (the others are unchanged): logical tensors and the quantization found. */
function logicalJson(view: LogicalView) {
  return {
    logical: view.tensors.map((t) => ({
      name: t.name, layout: layoutLabel(t), dtype: t.dtype, shape: t.shape, parts: t.parts,
      ...(t.quantized ? { scale: t.quantized.scale, block: t.quantized.block } : {}),
      ...(t.experts ? { experts: t.experts.count, orientation: t.experts.orientation, gateUp: t.experts.gateUp } : {}),
    })),
    quantization: {
      method: typeof view.model.quantization?.quant_method === 'string' ? view.model.quantization.quant_method : null,
      source: view.model.quantizationSource,
      refused: view.refusal,
      problems: view.problems.map((p) => p.message),
    },
  };
}

export async function inspectCommand(ctx: CommandContext): Promise<number> {
  const { positionals, values } = ctx.parse({ json: { type: 'boolean' }, 'no-mmap': { type: 'boolean' }, ...allRowsFlagOption }, inspectUsage);
  if (positionals.length !== 1) return ctx.usageError('inspect takes exactly one checkpoint path', inspectUsage);
  const ckpt = await openCheckpoint(positionals[0] as string, { mmap: !values['no-mmap'] });
  try {
    const { byDtype, byShard, total } = summarize(ckpt);
    const view = logicalView(ckpt);
    const layouts = layoutOf(view);
    if (values.json) {
      ctx.data(
        JSON.stringify(
          {
            path: ckpt.path,
            kind: ckpt.kind,
            metadata: ckpt.metadata,
            indexMetadata: ckpt.indexMetadata,
            warnings: ckpt.warnings,
            tensors: ckpt.tensors.map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape, parameters: t.numel, bytes: t.bytes, file: t.file })),
            totals: {
              ...total,
              byDtype: Object.fromEntries(byDtype),
              byShard: Object.fromEntries(byShard),
            },
            ...logicalJson(view),
          },
          null,
          2,
        ),
      );
      return 0;
    }
    ctx.out(`${terminalText(ckpt.path)} (${ckpt.kind}, ${ckpt.shards.length} file${ckpt.shards.length === 1 ? '' : 's'})\n`);
    const withLayout = layouts.size > 0;
    ctx.out(
      renderLongTable(ckpt.tensors, {
        columns: [{ header: 'name' }, { header: 'dtype' }, { header: 'shape' }, { header: 'parameters', align: 'right' }, { header: 'MB', align: 'right' },
          ...(withLayout ? [{ header: 'layout' }] : [])],
        row: (t) => [t.name, t.dtype, formatShape(t.shape), formatCount(t.numel), formatMB(t.bytes), ...(withLayout ? [layouts.get(t.name) ?? ''] : [])],
        name: (t) => t.name,
        groupColumns: [{ header: 'dtypes' }, { header: 'shapes' }, { header: 'parameters', align: 'right' }, { header: 'MB', align: 'right' }],
        group: (ts) => [distinct(ts.map((t) => t.dtype)), distinct(ts.map((t) => formatShape(t.shape))),
          formatCount(ts.reduce((n, t) => n + t.numel, 0)), formatMB(ts.reduce((n, t) => n + t.bytes, 0))],
        noun: 'tensors',
      }, { all: Boolean(values.all) }),
    );
    const totalsTable = (title: string, map: Map<string, Totals>) =>
      '\n' +
      renderTable(
        [{ header: title }, { header: 'tensors', align: 'right' }, { header: 'parameters', align: 'right' }, { header: 'MB', align: 'right' }],
        [
          ...[...map].map(([key, t]) => [key, formatCount(t.tensors), formatCount(t.parameters), formatMB(t.bytes)]),
          ['total', formatCount(total.tensors), formatCount(total.parameters), formatMB(total.bytes)],
        ],
      );
    ctx.out(totalsTable('dtype', byDtype));
    if (ckpt.shards.length > 1) ctx.out(totalsTable('shard', byShard));
    if (view.refusal) ctx.out(`\nquantized with ${view.refusal.method}, which paramscope does not decode (analyze and diff refuse it): ${terminalText(view.refusal.found.join('; '))}`);
    for (const p of view.problems) ctx.out(`quantization problem: ${terminalText(p.message)}`);
    for (const w of ckpt.warnings) ctx.err(`warning: ${terminalText(w)}`);
    return 0;
  } finally {
    ckpt.close();
  }
}
