import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { defineOp, readOnly } from '../op.js';

/** The interval over which CPU use and network rates are measured. */
const sampleMs = 1000;

/**
 * systeminformation keeps one previous reading per process: two overlapping samples would compare
 * with each other's readings (a zero interval gives NaN rates), so samples take turns.
 */
let sampling: Promise<unknown> = Promise.resolve();

/** A rate systeminformation could not compute (no interval yet, a counter reset) is unknown, not NaN. */
const rate = (n: number | null | undefined) => (typeof n === 'number' && Number.isFinite(n) ? n : null);

export default defineOp({
  id: 'monitoring.metrics',
  mcpName: 'monitoring_get_system_metrics',
  title: 'System metrics',
  description: 'CPU use and load, memory, disks, network interfaces and the top processes of the machine twl runs on. CPU use (total and per process) and network rates are measured over one second.',
  input: z.object({ top: z.number().int().min(1).max(100).default(10).describe('How many top processes (by current CPU use).') }),
  output: z.object({
    host: z.string(),
    uptimeSeconds: z.number(),
    cpu: z.object({ cores: z.number().int(), usagePercent: z.number(), load: z.array(z.number()) }),
    memory: z.object({ totalBytes: z.number(), usedBytes: z.number(), availableBytes: z.number(), usedPercent: z.number() }),
    disks: z.array(z.object({ mount: z.string(), fs: z.string(), sizeBytes: z.number(), usedBytes: z.number(), usedPercent: z.number() })),
    network: z.array(z.object({ iface: z.string(), rxBytes: z.number(), txBytes: z.number(), rxPerSecond: z.number().nullable(), txPerSecond: z.number().nullable() })),
    processes: z.array(z.object({ pid: z.number().int(), name: z.string(), cpuPercent: z.number(), memPercent: z.number(), user: z.string() })),
  }),
  annotations: readOnly,
  policy: { minRole: 'viewer', needsApproval: false, timeoutMs: 30_000 },
  async run(ctx, input) {
    const turn = sampling.then(() => sample(ctx.signal, input.top));
    sampling = turn.catch(() => undefined);
    return turn;
  },
});

async function sample(signal: AbortSignal, top: number) {
  signal.throwIfAborted();
  const si = (await import('systeminformation')).default;
  // CPU use (of the machine and of each process) and network rates are differences between two
  // readings; a first reading in a fresh process compares with boot, i.e. lifetime averages.
  await Promise.all([si.currentLoad(), si.networkStats('*'), si.processes()]);
  await sleep(sampleMs, undefined, { signal });
  const [load, mem, fs, net, procs] = await Promise.all([si.currentLoad(), si.mem(), si.fsSize(), si.networkStats('*'), si.processes()]);
  const round = (n: number) => Math.round(n * 10) / 10;
  return {
    host: os.hostname(),
    uptimeSeconds: Math.round(os.uptime()),
    cpu: { cores: os.cpus().length, usagePercent: round(load.currentLoad), load: os.loadavg().map(round) },
    memory: { totalBytes: mem.total, usedBytes: mem.total - mem.available, availableBytes: mem.available, usedPercent: round(((mem.total - mem.available) / mem.total) * 100) },
    disks: fs.map((d) => ({ mount: d.mount, fs: d.fs, sizeBytes: d.size, usedBytes: d.used, usedPercent: round(d.use ?? 0) })),
    network: net.map((n) => ({ iface: n.iface, rxBytes: n.rx_bytes, txBytes: n.tx_bytes, rxPerSecond: rate(n.rx_sec), txPerSecond: rate(n.tx_sec) })),
    processes: procs.list
      .sort((a, b) => b.cpu - a.cpu)
      .slice(0, top)
      .map((p) => ({ pid: p.pid, name: p.name, cpuPercent: round(p.cpu), memPercent: round(p.mem), user: p.user ?? '' })),
  };
}
