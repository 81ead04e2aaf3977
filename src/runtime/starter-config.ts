/** The commented file `twl config init` writes; a test checks it validates. */
export const starterConfig = (): string => `# twl configuration. Every key is optional; shown with its default.
# twl looks for .twlrc(.yaml|.yml|.json), twl.config.(js|mjs|ts) or a "twl" key in package.json,
# from the current directory up to your home directory, then ~/.config/twl/.
# Environment variables override the file (named next to each key).

# Data directory for the embedded store.                      TWL_HOME
# home: ~/.local/share/twl

log:
  # fatal, error, warn, info, debug, trace or silent; logs go to stderr.   TWL_LOG_LEVEL
  level: warn

database:
  # PostgreSQL for twl's own store. Unset: embedded PGlite in the data directory.   TWL_DATABASE_URL
  # url: postgres://twl@127.0.0.1:5432/twl
  poolSize: 5
  autoMigrate: true
  # Other databases the db commands may inspect with --target NAME (read-only).
  targets: {}
  #   billing:
  #     url: postgres://readonly@db.internal:5432/billing
  #     description: Billing replica

redis:
  # Redis for the cache. Unset: a TTL table in the store.      TWL_REDIS_URL
  # url: redis://127.0.0.1:6379
  prefix: "twl:"                                               # TWL_REDIS_PREFIX

llm:
  # Ollama. Unset: the rule-based agents only (always available).   TWL_LLM_HOST
  # host: http://127.0.0.1:11434
  model: llama3.1                                              # TWL_LLM_MODEL
  timeout: 60s

store:
  # How long a command waits for the embedded store held by another twl process.   TWL_STORE_LOCK_TIMEOUT
  lockTimeout: 10s
  # CLI commands start a background host of the embedded store (\`twl db host\`) that later
  # commands share over a Unix socket, much faster than opening the store each time; it
  # exits after this idle time. off: every command opens the store itself.   TWL_STORE_AUTO_HOST
  autoHost: 2m
`;
