import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import type http from 'node:http';

/**
 * The interactive API reference at /docs: Swagger UI (the swagger-ui-dist package, served from
 * node_modules, no CDN) over /openapi.json, under a CSP that allows nothing but this server's own
 * scripts, styles and API. The page itself is public and static; the document it shows and the
 * calls it makes carry the key entered in its Authorize box.
 */

/** The files of swagger-ui-dist the page uses, by the name it asks for. */
const assets: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
  'favicon-32x32.png': 'image/png',
};

export const docsCsp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const page = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>twl API reference</title>
<link rel="stylesheet" href="/docs/swagger-ui.css">
<link rel="icon" type="image/png" href="/docs/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs/swagger-ui-bundle.js"></script>
<script src="/docs/init.js"></script>
</body>
</html>
`;

/**
 * Starts Swagger UI on a placeholder document with the Authorize box, then loads /openapi.json
 * with the key it holds (again after each Authorize or Logout): the document lists only the tools
 * the key's role may call, and without a key (http.auth: keys) there is nothing to list yet.
 */
const init = `'use strict';
(() => {
  const placeholder = {
    openapi: '3.1.0',
    info: { title: 'twl (TwisterLab)', version: '', description: 'Enter an API key (twl keys create) with Authorize to list the tools your role may call.' },
    paths: {},
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    security: [{ bearer: [] }],
  };
  let ui;
  const key = () => {
    const auth = ui && ui.authSelectors.authorized();
    const bearer = auth && auth.toJS().bearer;
    return bearer && bearer.value;
  };
  const load = async () => {
    const token = key();
    const res = await fetch('/openapi.json', { headers: token ? { authorization: 'Bearer ' + token } : {} });
    if (res.ok) ui.specActions.updateSpec(await res.text());
    else if (res.status === 401 || res.status === 429) ui.specActions.updateSpec(JSON.stringify(placeholder));
  };
  const reloadOnAuth = () => ({
    statePlugins: {
      auth: {
        wrapActions: {
          authorize: (original) => (payload) => { const done = original(payload); setTimeout(load); return done; },
          logout: (original) => (payload) => { const done = original(payload); setTimeout(load); return done; },
        },
      },
    },
  });
  let started = false;
  ui = SwaggerUIBundle({
    spec: placeholder,
    dom_id: '#swagger-ui',
    presets: [SwaggerUIBundle.presets.apis],
    plugins: [reloadOnAuth],
    persistAuthorization: true,
    tryItOutEnabled: true,
    displayOperationId: true,
    onComplete: () => { if (!started) { started = true; load(); } },
  });
})();
`;

let root: string | undefined;
const packageRoot = () => (root ??= path.dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json')));

const send = (res: http.ServerResponse, type: string, body: string | Buffer, cache: string) =>
  res.writeHead(200, { 'content-type': type, 'content-security-policy': docsCsp, 'x-content-type-options': 'nosniff', 'cache-control': cache, 'referrer-policy': 'no-referrer' }).end(body);

/** Answers /docs and its assets; false for any other path under /docs (a 404 for the caller). */
export async function serveDocs(pathname: string, res: http.ServerResponse): Promise<boolean> {
  if (pathname === '/docs' || pathname === '/docs/') return (send(res, 'text/html; charset=utf-8', page, 'no-cache'), true);
  const name = pathname.slice('/docs/'.length);
  if (name === 'init.js') return (send(res, 'text/javascript; charset=utf-8', init, 'no-cache'), true);
  const type = assets[name];
  if (!type) return false;
  send(res, type, await readFile(path.join(packageRoot(), name)), 'public, max-age=3600');
  return true;
}

/** What / answers: where things are. */
export const index = (version: string, auth: 'keys' | 'none') => ({
  name: 'twl (TwisterLab)',
  version,
  links: {
    docs: '/docs',
    openapi: '/openapi.json',
    mcp: '/mcp',
    health: '/health',
    liveness: '/health/live',
    metrics: '/metrics',
    status: '/mcp/status',
    tools: '/api/tools',
    events: '/api/events',
  },
  auth: auth === 'none' ? 'none: every caller is an admin (http.auth: none).' : 'Every route but /, /docs and /health/live needs Authorization: Bearer <API key> (twl keys create).',
});
