// `npm run bench -- upstream`: the cost of twl's upstream request path (src/upstream/: queue,
// deadline, breaker, single flight, supervision) over a plain official-SDK client, both calling
// the `echo` tool of @modelcontextprotocol/server-everything over stdio, at concurrency 1 and
// 32. The floor is the SDK's own client with its own stdio transport (no queue, no supervision);
// twl runs shared (one child) and pool (4 children). Cases run in interleaved slices, because
// these machines are noisy. Each call has its own message, so single flight never merges calls,
// and every answer is checked. Then RSS of the twl case under c=32 at 10 s and at the end.
// Needs `npm run build` (it loads dist/).
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';

const seconds = Number(process.env.TWL_BENCH_UPSTREAM_SECONDS ?? 4);
const memorySeconds = Number(process.env.TWL_BENCH_UPSTREAM_MEMORY_SECONDS ?? 30);
const SLICES = 4;
const CONCURRENCY = [1, 32];

const pct = (xs, q) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? 0;
};

async function slice(call, concurrency, ms, tally) {
  const until = performance.now() + ms;
  let n = 0;
  const worker = async () => {
    while (performance.now() < until) {
      const message = `m${n++}`;
      const t = performance.now();
      try {
        const result = await call(message);
        if (result.content?.[0]?.text !== `Echo: ${message}`) throw new Error(`unexpected answer ${JSON.stringify(result).slice(0, 200)}`);
        tally.latencies.push(performance.now() - t);
      } catch (err) {
        tally.failed++;
        tally.firstError ??= err.message;
      }
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  tally.ms += performance.now() - started;
}

export async function upstream({ root, json }) {
  const everything = path.join(root, 'node_modules', '.bin', 'mcp-server-everything');
  const { openUpstreams, SecretBox, upstreamConfigSchema } = await import(pathToFileURL(path.join(root, 'dist', 'src', 'upstream', 'index.js')).href);
  const { createLogger } = await import(pathToFileURL(path.join(root, 'dist', 'src', 'runtime', 'logger.js')).href);
  const home = path.join(root, '.bench-upstream');

  const sdk = new Client({ name: 'bench', version: '1' });
  await sdk.connect(new StdioClientTransport({ command: everything, args: [], stderr: 'ignore' }));
  // The SDK client over twl's process-group transport: what the transport costs, apart from the request path.
  const { GroupStdioTransport } = await import(pathToFileURL(path.join(root, 'dist', 'src', 'upstream', 'stdio-transport.js')).href);
  const sdkOverTwl = new Client({ name: 'bench', version: '1' });
  await sdkOverTwl.connect(new GroupStdioTransport({ command: everything, args: [], env: { PATH: process.env.PATH }, killGraceMs: 2000, maxMessageBytes: 8 * 2 ** 20 }));
  const set = openUpstreams(
    [
      upstreamConfigSchema.parse({ name: 'shared', transport: 'stdio', command: everything }),
      upstreamConfigSchema.parse({ name: 'pool', transport: 'stdio', command: everything, sharing: 'pool', pool: { min: 4, max: 4 } }),
    ],
    { logger: createLogger('silent'), secrets: new SecretBox({ home }) },
  );
  const shared = set.get('shared');
  const pool = set.get('pool');
  await shared.listTools();
  await pool.listTools();
  await new Promise((r) => setTimeout(r, 1000)); // the pool's children finish starting

  const cases = [
    { name: 'SDK client, stdio (floor)', call: (message) => sdk.callTool({ name: 'echo', arguments: { message } }) },
    { name: 'SDK client, twl transport', call: (message) => sdkOverTwl.callTool({ name: 'echo', arguments: { message } }) },
    { name: 'twl upstream, shared', call: (message) => shared.callTool('echo', { message }) },
    { name: 'twl upstream, pool of 4', call: (message) => pool.callTool('echo', { message }) },
  ];
  const results = [];
  for (const concurrency of CONCURRENCY) {
    const tallies = cases.map(() => ({ latencies: [], failed: 0, firstError: undefined, ms: 0 }));
    for (let s = 0; s < SLICES; s++) for (const [i, c] of cases.entries()) await slice(c.call, concurrency, (seconds * 1000) / SLICES, tallies[i]);
    const floor = tallies[0].latencies.length / tallies[0].ms;
    for (const [i, c] of cases.entries()) {
      const t = tallies[i];
      const perSecond = (t.latencies.length / t.ms) * 1000;
      results.push({ case: c.name, concurrency, callsPerSecond: Math.round(perSecond), p50: +pct(t.latencies, 0.5).toFixed(2), p99: +pct(t.latencies, 0.99).toFixed(2), failed: t.failed, firstError: t.firstError, vsFloor: +(t.latencies.length / t.ms / floor).toFixed(2) });
    }
  }

  // Memory under c=32 through the shared upstream: RSS at 10 s and at the end.
  const rss = [];
  const memTally = { latencies: [], failed: 0, ms: 0 };
  const load = slice(cases[2].call, 32, memorySeconds * 1000, memTally);
  await new Promise((r) => setTimeout(r, 10_000));
  rss.push(process.memoryUsage().rss);
  await load;
  rss.push(process.memoryUsage().rss);
  const memory = { seconds: memorySeconds, rssAt10sMB: +(rss[0] / 2 ** 20).toFixed(1), rssAtEndMB: +(rss[1] / 2 ** 20).toFixed(1), growth: +(rss[1] / rss[0] - 1).toFixed(3), calls: memTally.latencies.length, failed: memTally.failed };

  await sdk.close();
  await sdkOverTwl.close();
  await set.close();
  if (!json) {
    console.log('upstream: echo of server-everything over stdio');
    for (const r of results) console.log(`  c=${String(r.concurrency).padEnd(3)} ${r.case.padEnd(28)} ${String(r.callsPerSecond).padStart(6)} calls/s  p50 ${r.p50} ms  p99 ${r.p99} ms  ×${r.vsFloor} of the floor${r.failed ? `  FAILED ${r.failed}: ${r.firstError}` : ''}`);
    console.log(`  memory (shared, c=32, ${memory.seconds} s): RSS ${memory.rssAt10sMB} MB at 10 s → ${memory.rssAtEndMB} MB at the end (${(memory.growth * 100).toFixed(1)}%)`);
  }
  return { results, memory };
}
