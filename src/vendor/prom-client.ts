// prom-client, as one file: with @opentelemetry/api it is some 90 CommonJS modules, and every
// CLI call loads it (ops count their calls). Only src/runtime/metrics.ts may import it: one
// copy, one set of metrics. The build replaces the compiled dist/src/vendor/prom-client.js
// with an esbuild bundle of this entry; run from source (tests), it is the plain package.
import client from 'prom-client';

export default client;
