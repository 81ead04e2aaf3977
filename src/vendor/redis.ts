// The Redis client, as one file. @redis/client is some 1,700 CommonJS modules (a file per
// command): loading them one by one cost a CLI call more than all the rest of `twl cache get`.
// The build (scripts/build.mjs) replaces the compiled dist/src/vendor/redis.js with an esbuild
// bundle of this entry; run from source (tests), it is the plain package.
export { createClient } from '@redis/client';
