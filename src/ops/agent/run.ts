import { z } from 'zod';
import { runAgent } from '../../studio/agents-run.js';
import { defineOp } from '../op.js';
import { agentName, runSchema, stepSchema } from './schemas.js';

export default defineOp({
  id: 'agent.run',
  mcpName: 'agent_run',
  title: 'Run an agent on a prompt',
  description:
    'Runs an active agent on a prompt. With an LLM (Ollama, or the MCP client\'s model through sampling): a tool-calling loop limited to the agent\'s tools (within the caller\'s role) and a step budget, ' +
    'where a master or supervisor delegates to the agents it leads as tools (delegate_<name>). A tool that changes things asks for approval unless the agent\'s policy pre-approves it; a call outside its tools is refused and recorded. ' +
    'Without an LLM the agent runs its declared steps and says so. One run at a time per agent (busy): other runs wait in order. Every step is on the run\'s record.',
  input: z.object({
    name: agentName,
    prompt: z.string().min(1).max(100_000).describe('What the agent should do.'),
    maxSteps: z.number().int().min(1).max(100).optional().describe('Tool calls per agent run at most (default 10).'),
  }),
  output: z.object({ run: runSchema, steps: z.array(stepSchema) }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  policy: { minRole: 'operator', needsApproval: false, timeoutMs: 600_000 },
  async run(ctx, { name, prompt, maxSteps }) {
    return runAgent(ctx.runtime, name, prompt, { actor: ctx.actor, role: ctx.role, namespaces: ctx.namespaces, keyId: ctx.keyId, grantExpiresAt: ctx.grantExpiresAt, signal: ctx.signal, ask: ctx.ask, maxSteps, llm: ctx.llm(), line: (text) => ctx.progress({ message: text, status: 'running' }) });
  },
});
