import type { AnyOp } from './op.js';

/**
 * Every core op, by MCP name, for agents that run ops by name (Maestro's plans). The MCP
 * tool list comes from the command tree; a test asserts both hold the same core ops.
 */
export async function coreOps(): Promise<Map<string, AnyOp>> {
  const modules = await Promise.all([
    import('./cache/get.js'),
    import('./cache/set.js'),
    import('./cache/delete.js'),
    import('./cache/keys.js'),
    import('./cache/stats.js'),
    import('./db/query.js'),
    import('./db/tables.js'),
    import('./db/describe.js'),
    import('./db/health.js'),
    import('./sentiment/analyze.js'),
    import('./ticket/create.js'),
    import('./ticket/list.js'),
    import('./ticket/show.js'),
    import('./ticket/close.js'),
    import('./ticket/reopen.js'),
    import('./ticket/comment.js'),
    import('./ticket/classify.js'),
    import('./ticket/resolve.js'),
    import('./ticket/approve.js'),
    import('./maestro/agents.js'),
    import('./maestro/analyze.js'),
    import('./maestro/chat.js'),
    import('./maestro/generate.js'),
    import('./maestro/orchestrate.js'),
    import('./exec/run.js'),
    import('./audit/list.js'),
    import('./monitoring/health.js'),
    import('./monitoring/metrics.js'),
    import('./monitoring/containers.js'),
    import('./monitoring/logs.js'),
    import('./monitoring/cache-stats.js'),
    import('./llm/status.js'),
    import('./llm/models.js'),
    import('./browser/browse.js'),
    import('./code/review.js'),
    import('./code/scan.js'),
    import('./backup/create.js'),
    import('./backup/list.js'),
    import('./backup/verify.js'),
    import('./backup/restore.js'),
    import('./backup/prune.js'),
    import('./dash/activity.js'),
  ]);
  return new Map(modules.map((m) => [m.default.mcpName, m.default as AnyOp]));
}
