/** `paramscope plan --shards N`: how the run falls on N shards (the balance `--shard i/N` uses) and what each costs. */
import type { RunEstimate } from '../../estimate';
import type { ShardEstimate } from '../../shard';
import { renderTable } from './table';

const seconds = (s: number | null) => (s === null ? '-' : s < 10 ? s.toFixed(2) : s.toFixed(0));

export function shardPlanText(e: RunEstimate, shards: readonly ShardEstimate[]): string {
  const table = renderTable(
    [{ header: 'shard' }, { header: 'matrices', align: 'right' }, { header: 'GB read', align: 'right' }, { header: 'TFLOP', align: 'right' },
     { header: 'est. s', align: 'right' }, { header: 'largest matrix' }],
    shards.map((s) => [`${s.index}/${shards.length}`, String(s.matrices), (s.bytes / 1e9).toFixed(2), (s.flops / 1e12).toFixed(2), seconds(s.seconds), s.largest ?? '(empty)']),
  );
  const timed = shards.filter((s) => s.seconds !== null);
  const pole = timed.reduce<ShardEstimate | null>((best, s) => (best === null || (s.seconds as number) > (best.seconds as number) ? s : best), null);
  const summary = pole
    ? `long pole: shard ${pole.index}, about ${seconds(pole.seconds)} s on a node like this one (the whole run on one: ${seconds(e.totals.seconds)} s); each shard also reads its own matrices: ${(Math.max(...shards.map((s) => s.bytes)) / 1e9).toFixed(1)} GB at most`
    : 'no time estimate (--no-calibration)';
  return [`${e.kind} on ${shards.length} shards (--shard i/${shards.length}), balanced on estimated flops and bytes:`, '', table, '', summary].join('\n');
}
