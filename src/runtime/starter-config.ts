/** The commented file `twl config init` writes; a test checks it validates. */
export const starterConfig = (): string => `# twl configuration. Every key is optional; shown with its default, or as a commented example.
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

# The services twl checks (\`twl monitoring health\`) and acts on when a ticket points at them
# (by its name or keywords). kind: http (URL), tcp (host:port), process (name), container,
# systemd (unit), postgres or redis (connection URL). Uncomment and adapt:
# Example:
# services:
#   - name: shop
#     kind: http
#     target: http://127.0.0.1:8080/health
#     healthy:
#       latencyMs: 500                      # slower than this: degraded
#     keywords: [checkout, boutique]
#     actions:
#       restart: [systemctl, restart, shop.service]   # run through the commander policy below
#   - name: orders-db
#     kind: postgres
#     target: postgres://monitor@127.0.0.1:5432/orders

# Runbooks: symptoms mapped to steps (any twl tool, by its MCP name, with its input);
# \`twl config validate\` checks each tool and input. A step that is not read-only asks for
# approval (or --yes); the ticket is resolved with the resolution when every step succeeds.
# Example:
# runbooks:
#   - name: stale cache
#     when:
#       keywords: [stale, outdated prices]
#       categories: [application]
#     steps:
#       - tool: cache_cache_delete
#         input: { key: "prices:*" }
#       - tool: monitoring_health_check
#         input: { services: [shop] }
#     resolution: Cleared the price cache; the shop answers.

# What twl exec and remediation steps may run: the rules first, in order, then the built-in
# read-only diagnostics (ps, df, uptime …), then the default. Never through a shell.
commander:
  default: ask                                  # allow, ask or deny
  timeout: 30s
  # rules (default: none), checked in order; the first that matches decides.
# Example:
#   rules:
#     - program: systemctl
#       args: "^(status|restart) [a-z0-9@.-]+$"
#       decision: allow
#       reason: service restarts are routine here
#     - program: rm
#       decision: deny
#       reason: never delete files from a ticket

# The hosts \`twl browse\` may fetch (* wildcards; default: allow ["*"], deny []); deny wins.
browser:
  timeout: 15s
  # chromium: /usr/bin/chromium                 # browse --screenshot saves a PNG of the page
# Example:
#   allow: ["*.example.com", "127.0.0.1"]
#   deny: ["admin.example.com"]

# twl serve --http: API keys (\`twl keys create\`) carry a role; per-IP and per-key rate limits.
http:
  auth: keys                                    # keys, or none (only on a loopback bind you trust)
  trustProxy: false                             # true behind a load balancer (X-Forwarded-For)
  # allowedHosts: Host headers accepted besides loopback names; oauth: bearer JWTs from an issuer.
# Example:
#   allowedHosts: [twl.internal.example.com]
#   oauth:
#     issuer: https://auth.example.com/
#     audience: https://twl.internal.example.com
#     defaultRole: viewer

store:
  # How long a command waits for the embedded store held by another twl process.   TWL_STORE_LOCK_TIMEOUT
  lockTimeout: 10s
  # CLI commands start a background host of the embedded store (\`twl db host\`) that later
  # commands share over a Unix socket, much faster than opening the store each time; it
  # exits after this idle time. off: every command opens the store itself.   TWL_STORE_AUTO_HOST
  autoHost: 2m
  # How long the change feed (task, execution and agent events) is kept; off: forever.
  eventRetention: 7d
  # How long the run history is kept (task executions and their output, agent runs, workflow
  # runs), from when each ended; what runs or waits its turn and a task's latest execution stay.
  runRetention: 30d
  # The audit trails (twl audit list, tool calls) are kept forever; to delete older rows:
  # auditRetention: 365d
  # Deleted a batch at a time by twl worker, serve and the store host; now: twl db prune.

# Tasks (twl task create) run by twl worker processes from a job queue in the store. See docs/tasks.md.
tasks:
  schema: pgboss                                # the job queue's PostgreSQL schema   TWL_TASKS_SCHEMA
  retries: 2                                    # retries of a failed run (a task may set its own)
  retryDelay: 5s                                # first retry delay, doubled for each retry
  timeout: 15m                                  # how long one run may take (a task may set its own)
  heartbeat: 10s                                # a worker silent this long loses its run to another
`;
