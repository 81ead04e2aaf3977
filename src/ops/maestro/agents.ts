import { z } from 'zod';
import { agentOf } from '../../agents/maestro/steps.js';
import { messageOf } from '../../runtime/errors.js';
import { defineOp, readOnly } from '../op.js';

const capabilities: Record<string, string> = {
  'sentiment-analyzer': 'tone and urgency of a text, French and English, with the signals behind them',
  'real-classifier': 'ticket category and priority from the taxonomy (rules and a trained model; the LLM when configured)',
  'real-resolver': 'runs a ticket through triage, plan, checks and fixes, to a resolution or an escalation',
  maestro: 'plans and orchestrates the agents; chat and generation through the LLM; ticket statistics',
  database: 'read-only queries, tables, table descriptions and health of PostgreSQL databases',
  cache: 'the key-value cache (Redis or the embedded store)',
  tickets: 'the ticket store: create, list, show, comment, close, reopen',
};

const needsLlm = new Set(['maestro_chat', 'maestro_generate']);

export default defineOp({
  id: 'maestro.agents',
  mcpName: 'maestro_list_agents',
  title: 'List the agents',
  description: 'The agents Maestro orchestrates, with their tools, capabilities and status (an LLM-only capability is unavailable when no LLM answers).',
  input: z.object({}),
  output: z.object({
    llm: z.object({ configured: z.boolean(), host: z.string().nullable(), model: z.string().nullable(), reachable: z.boolean(), detail: z.string() }),
    agents: z.array(z.object({ name: z.string(), capabilities: z.string(), tools: z.array(z.string()), status: z.enum(['ready', 'degraded', 'unavailable']), detail: z.string() })),
  }),
  annotations: { ...readOnly, openWorldHint: true },
  policy: { minRole: 'viewer', needsApproval: false, timeoutMs: 20_000 },
  async run(ctx) {
    const llm = ctx.llm();
    let reachable = false;
    let detail = 'no LLM configured (llm.host): rule-based agents only';
    if (llm) {
      try {
        detail = llm.via === 'mcp-sampling' ? `no Ollama configured; the MCP client's own model answers through sampling: ${llm.model}` : `Ollama ${await llm.version()} at ${llm.host}, model ${llm.model}`;
        reachable = true;
      } catch (err) {
        detail = messageOf(err);
      }
    }
    const byAgent = new Map<string, string[]>();
    for (const name of (await ctx.runtime.ops()).keys()) byAgent.set(agentOf(name), [...(byAgent.get(agentOf(name)) ?? []), name]);
    const agents = [...byAgent].map(([name, tools]) => {
      const llmTools = tools.filter((t) => needsLlm.has(t));
      const status = llmTools.length && !reachable ? (llmTools.length === tools.length ? 'unavailable' : 'degraded') : 'ready';
      return {
        name,
        capabilities: capabilities[name] ?? name,
        tools: tools.sort(),
        status: status as 'ready' | 'degraded' | 'unavailable',
        detail: status === 'ready' ? (name === 'real-classifier' || name === 'maestro' ? (reachable ? 'with the LLM' : 'rule-based') : 'ready') : `${llmTools.join(', ')} need the LLM: ${detail}`,
      };
    });
    return { llm: { configured: Boolean(llm), host: llm?.host ?? null, model: llm?.model ?? null, reachable, detail }, agents: agents.sort((a, b) => a.name.localeCompare(b.name)) };
  },
});
