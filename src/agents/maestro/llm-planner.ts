import { z } from 'zod';
import type { AnyOp } from '../../ops/op.js';
import type { OpContext } from '../../runtime/context.js';
import type { Llm, Message, Tool } from '../../runtime/llm.js';
import { maestroDecisions } from '../../runtime/metrics.js';
import { TWL_NAMESPACE } from '../../tools/types.js';
import type { Ticket } from '../tickets/repo.js';
import type { ClassifyOutcome } from '../triage/llm-classifier.js';
import type { PlanStep } from './plan.js';
import { runStep, type StepReport } from './steps.js';

/** The agents Maestro must not call from its own loop (no recursion, no ticket edits). */
const excluded = /^(maestro_|tickets_|real-resolver_|real-classifier_|sentiment-analyzer_)/;

/** Read-only ops the LLM may call while investigating. */
export function investigationTools(ops: Map<string, AnyOp>): Map<string, AnyOp> {
  return new Map([...ops].filter(([name, op]) => op.annotations.readOnlyHint && !excluded.test(name)));
}

const asTool = (op: AnyOp): Tool => ({
  type: 'function',
  function: { name: op.mcpName, description: op.description, parameters: z.toJSONSchema(op.input, { io: 'input' }) as Tool['function']['parameters'] },
});

/**
 * Maestro's tool-calling loop: the LLM chooses read-only checks among the allowed ops, each
 * call is run and recorded like any plan step, within the step budget; its last answer is
 * the diagnosis. Fixes stay with runbooks and their approvals.
 */
export async function llmInvestigate(
  ctx: OpContext,
  llm: Llm,
  ticket: Ticket,
  classification: ClassifyOutcome,
  ops: Map<string, AnyOp>,
  onStep: (report: StepReport) => void,
  ticketId: number,
): Promise<{ diagnosis: string; calls: number }> {
  // Only what the caller's key may call: the model is offered (and told of) no tool outside its namespaces.
  const allowed = ctx.namespaces === undefined || ctx.namespaces.includes(TWL_NAMESPACE) ? investigationTools(ops) : new Map<string, AnyOp>();
  const tools = [...allowed.values()].map(asTool);
  const budget = ctx.config.maestro.maxSteps;
  const messages: Message[] = [
    {
      role: 'system',
      content:
        `You are Maestro, the orchestrator of an IT operations toolkit. Investigate the ticket with the tools given (read-only checks), at most ${budget} calls, ` +
        'then answer with a short diagnosis in plain text (two or three sentences): what you checked, what you found, what a human should do next.',
    },
    { role: 'user', content: `Ticket #${ticket.id} (${classification.category}, priority ${classification.priority}):\n${ticket.text}` },
  ];
  let calls = 0;
  while (calls < budget) {
    const res = await llm.chat(messages, { tools, signal: ctx.signal });
    messages.push(res.message);
    const toolCalls = res.message.tool_calls ?? [];
    if (toolCalls.length === 0) return { diagnosis: res.message.content.trim() || 'no diagnosis given', calls };
    for (const call of toolCalls) {
      calls++;
      maestroDecisions.inc({ decision_type: 'llm_tool_call' });
      const name = call.function.name;
      if (!allowed.has(name)) {
        messages.push({ role: 'tool', content: JSON.stringify({ error: `${name} is not a tool you may call; use one of: ${[...allowed.keys()].join(', ')}` }) });
        continue;
      }
      const step: PlanStep = { tool: name, input: (call.function.arguments ?? {}) as Record<string, unknown>, kind: 'check', purpose: `LLM check ${calls}`, needsApproval: false };
      const report = await runStep(ctx, step, ticketId);
      onStep(report);
      messages.push({ role: 'tool', content: JSON.stringify(report.status === 'ok' ? report.output : { status: report.status, finding: report.finding, output: report.output }) });
      if (calls >= budget) break;
    }
  }
  return { diagnosis: `stopped at the step budget of ${budget} calls without a conclusion`, calls };
}
