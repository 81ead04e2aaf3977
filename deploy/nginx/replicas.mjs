#!/usr/bin/env node
// Writes the twl-replicas.conf that deploy/nginx.conf includes, from the replicas' names (their
// TWL_REPLICA) and addresses:
//   node deploy/nginx/replicas.mjs twl-1=10.0.0.11:30080 twl-2=10.0.0.12:30080 > /etc/nginx/twl/twl-replicas.conf
// Also imported by the scale test and benchmark, so what they run is what this prints.

const NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/;
const ADDRESS = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/;

/** The configuration for these replicas: [{ name, address }]. */
export function replicasConf(replicas) {
  if (!replicas.length) throw new Error('Name at least one replica: NAME=HOST:PORT.');
  for (const { name, address } of replicas) {
    if (!NAME.test(name)) throw new Error(`"${name}" is not a replica name (TWL_REPLICA): letters, digits, - and _, at most 63.`);
    if (!ADDRESS.test(address)) throw new Error(`"${address}" is not HOST:PORT.`);
  }
  return [
    '# Written by deploy/nginx/replicas.mjs. Round-robin over every replica; one upstream per replica',
    '# for the 2025 sessions it holds; the map sends a session id "<name>.…" to its replica.',
    'upstream twl {',
    '  zone twl 64k;',
    ...replicas.map((r) => `  server ${r.address} max_fails=1 fail_timeout=2s;`),
    '  keepalive 32;',
    "  # Shorter than twl's http.timeouts.keepAlive (5 s): nginx drops an idle connection before twl does.",
    '  keepalive_timeout 4s;',
    '}',
    ...replicas.map((r) => `upstream ${r.name} { server ${r.address}; keepalive 8; keepalive_timeout 4s; }`),
    'map $twl_session_replica $twl_upstream {',
    '  default twl;',
    ...replicas.map((r) => `  ${r.name} ${r.name};`),
    '}',
    '',
  ].join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    const replicas = process.argv.slice(2).map((arg) => {
      const at = arg.indexOf('=');
      return { name: arg.slice(0, at), address: arg.slice(at + 1) };
    });
    process.stdout.write(replicasConf(replicas));
  } catch (err) {
    process.stderr.write(`${err.message}\nUsage: node deploy/nginx/replicas.mjs NAME=HOST:PORT…\n`);
    process.exit(2);
  }
}
