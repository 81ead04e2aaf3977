// `npm run bench -- hub`: the hub's overhead. The same tool call (server-everything's `echo`)
// made directly to the upstream and through `twl serve`, at c=1 and c=32, on both faces, in one
// run with every case in slices interleaved with the others (these machines are noisy):
// stdio — an SDK stdio client to `mcp-server-everything stdio` (direct) vs an SDK stdio client
//         to `twl serve --stdio` calling ev_echo, where `ev` is the same server as twl's stdio child;
// HTTP  — a 2025 session to `mcp-server-everything streamableHttp` (direct) vs a 2025 session to
//         `twl serve --http` calling evh_echo, where `evh` is that same HTTP server as an upstream.
// One twl process serves both faces (--stdio --http), with its namespaces, pins and audit on.
// Goal: through twl ≥ 70% of the direct calls/s, each face and concurrency.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { agent, expectToolResult, freePort, httpSession, measureSeries, measured, start, stdioClient, stop } from './mcp.mjs';

const seconds = Number(process.env.TWL_BENCH_HUB_SECONDS ?? 4);
const SLICES = 4;
const CONCURRENCY = [1, 32];
const GOAL = 0.7;
const ECHO = { message: 'ok' };


export async function hub({ root, bin, node, json = false }) {
  const work = mkdtempSync(path.join(os.tmpdir(), 'twl-bench-hub-'));
  const everything = path.join(root, 'node_modules/@modelcontextprotocol/server-everything/dist/index.js');
  const env = { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TWL_'))), TWL_HOME: work, HOME: work };
  const children = [];
  const clients = [];
  const cases = [];
  try {
    // The upstream over HTTP, for the direct HTTP case and as twl's `evh`.
    const port = await freePort();
    await start(children, node, [everything, 'streamableHttp'], { env: { ...env, PORT: String(port) }, cwd: work }, /listening on port/);
    const upstreamUrl = `http://127.0.0.1:${port}/mcp`;
    writeFileSync(
      path.join(work, '.twlrc.json'),
      JSON.stringify({
        // Keyless and without rate limits, like the upstream it is compared with.
        http: { auth: 'none', rateLimit: { ip: { capacity: 1e9, refillPerMinute: 1e9 } } },
        upstreams: [
          { name: 'ev', transport: 'stdio', command: node, args: [everything, 'stdio'] },
          { name: 'evh', transport: 'http', url: upstreamUrl },
        ],
      }),
    );
    // One twl serve on both faces: its stdio is this client's, its HTTP URL is read from its stderr.
    const profile = process.env.TWL_BENCH_HUB_PROFILE ? [`--cpu-prof`, `--cpu-prof-dir=${process.env.TWL_BENCH_HUB_PROFILE}`] : [];
    const transport = new StdioClientTransport({ command: node, args: [...profile, bin, 'serve', '--stdio', '--http', '--port', '0'], env, cwd: work, stderr: 'pipe' });
    let tail = '';
    const twlUrl = new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`twl serve did not start in 60 s: ${tail}`)), 60_000);
      transport.stderr.on('data', (d) => {
        tail = (tail + d).slice(-2000);
        const m = /serves MCP at (http:\/\/\S+)\/mcp/.exec(tail);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]);
        }
      });
    });
    const twlClient = new Client({ name: 'bench', version: '1' });
    await twlClient.connect(transport);
    clients.push(twlClient);
    const base = await twlUrl;
    const viaTwlStdio = async () => expectToolResult({ result: await twlClient.callTool({ name: 'ev_echo', arguments: ECHO }) });

    const series = [
      { face: 'stdio', path: 'direct', name: 'stdio: direct to server-everything', setup: () => stdioClient(clients, node, [everything, 'stdio'], { env, cwd: work }, ['echo', ECHO]) },
      { face: 'stdio', path: 'twl', name: 'stdio: through twl serve --stdio (ev_echo)', setup: async () => viaTwlStdio },
      { face: 'http', path: 'direct', name: 'HTTP: direct to server-everything (session)', setup: () => httpSession(upstreamUrl, ['echo', ECHO]) },
      { face: 'http', path: 'twl', name: 'HTTP: through twl serve --http (session, evh_echo)', setup: () => httpSession(`${base}/mcp`, ['evh_echo', ECHO]) },
    ];
    cases.push(...(await measureSeries(series, CONCURRENCY, seconds, SLICES)));
  } finally {
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    agent.destroy();
    await Promise.all(children.map((c) => stop(c)));
    rmSync(work, { recursive: true, force: true });
  }

  const rows = cases.map(({ face, path: p, name, concurrency, failure, tally }) => ({ face, path: p, name, concurrency, ...measured(tally, failure) }));
  const find = (face, p, c) => rows.find((r) => r.face === face && r.path === p && r.concurrency === c);
  const goals = [];
  for (const face of ['stdio', 'http'])
    for (const c of CONCURRENCY) {
      const ours = find(face, 'twl', c);
      const direct = find(face, 'direct', c);
      const ok = ours && direct && !ours.error && !direct.error;
      goals.push({ label: `${face}, c=${c}: through twl ≥ ${GOAL * 100}% of direct calls/s`, value: ok ? ours.perSecond / direct.perSecond : undefined, met: ok ? ours.perSecond >= GOAL * direct.perSecond : null, ...(ok ? {} : { why: ours?.error ?? direct?.error }) });
    }
  if (!json) {
    console.log(`\nhub — server-everything's echo, directly and through twl serve; ${seconds} s per case (TWL_BENCH_HUB_SECONDS) in ${SLICES} interleaved slices, node ${process.version}, ${os.cpus().length} cores`);
    console.log(`${'case'.padEnd(54)}${'c'.padStart(4)}${'calls/s'.padStart(10)}${'p50 ms'.padStart(10)}${'p99 ms'.padStart(10)}${'failed'.padStart(8)}${'vs direct'.padStart(11)}`);
    for (const r of rows) {
      if (r.failure) {
        console.log(`${r.name.padEnd(54)}${String(r.concurrency).padStart(4)}   FAILED: ${r.failure}`);
        continue;
      }
      const direct = find(r.face, 'direct', r.concurrency);
      console.log(`${r.name.padEnd(54)}${String(r.concurrency).padStart(4)}${Math.round(r.perSecond).toString().padStart(10)}${r.p50.toFixed(2).padStart(10)}${r.p99.toFixed(2).padStart(10)}${String(r.failed).padStart(8)}${`${((r.perSecond / direct.perSecond) * 100).toFixed(0)}%`.padStart(11)}`);
      if (r.error && !r.failure) console.log(`  ! ${r.failed} calls failed: ${r.error}`);
    }
    console.log('\ngoals');
    for (const g of goals) console.log(`${g.label.padEnd(54)}${(g.value === undefined ? '' : `${(g.value * 100).toFixed(0)}%`).padStart(8)}   ${g.met === null ? `not measured: ${g.why}` : g.met ? 'met' : 'MISSED'}`);
  }
  return { rows, goals };
}
