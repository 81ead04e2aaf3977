import { Args, Flags } from '@oclif/core';
import { readFile } from 'node:fs/promises';
import { TwlError } from '../runtime/errors.js';
import type { Agent, AgentSteps } from '../studio/agents.js';
import type { AgentRun, AgentStep } from '../studio/agents-run.js';
import { table } from './render.js';

/** The agent name argument. */
export const agentArg = Args.string({ description: 'The agent\'s name.', required: true });

/** The flags create and edit share. */
export const agentFlags = {
  parent: Flags.string({ description: 'The agent that leads it: a master or supervisor.' }),
  instructions: Flags.string({ description: 'Its instructions, or @FILE to read them from a file.' }),
  tools: Flags.string({ description: 'Tool globs it may call (repeat, or comma-separated), e.g. "monitoring_*".', multiple: true }),
  model: Flags.string({ description: 'Its Ollama model (checked at activation).' }),
  preapprove: Flags.string({ description: 'Tools that change things it calls without asking (globs; repeat or comma-separated).', multiple: true }),
  steps: Flags.string({ description: 'What it runs without an LLM: workflow:NAME, a comma-separated tool list, or JSON ({"tools":[{"tool":"…","input":{…}}]}).' }),
};

/** The op input of the flags create and edit share (edit's --no-model and --no-steps clear those). */
export async function agentInput(name: string, flags: { kind?: string; parent?: string; instructions?: string; tools?: string[]; model?: string; preapprove?: string[]; steps?: string; 'no-model'?: boolean; 'no-steps'?: boolean }) {
  return {
    name,
    kind: flags.kind,
    parent: flags.parent,
    instructions: await instructionsOf(flags.instructions),
    tools: listOf(flags.tools),
    model: flags['no-model'] ? null : flags.model,
    preapprove: listOf(flags.preapprove),
    steps: flags['no-steps'] ? null : stepsOf(flags.steps),
  };
}

/** Repeated and comma-separated values, flattened. */
export const listOf = (values: string[] | undefined): string[] | undefined => values?.flatMap((v) => v.split(',')).map((v) => v.trim()).filter(Boolean);

export async function instructionsOf(raw: string | undefined): Promise<string | undefined> {
  if (raw === undefined || !raw.startsWith('@')) return raw;
  try {
    return await readFile(raw.slice(1), 'utf8');
  } catch (err) {
    throw new TwlError('TWL_INPUT_INVALID', `--instructions ${raw.slice(0, 200)}: cannot read the file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}).`, { actions: ['Give an existing file after @, or the instructions as text.'] });
  }
}

export function stepsOf(raw: string | undefined): AgentSteps | undefined {
  if (raw === undefined) return undefined;
  const text = raw.trim();
  if (text.startsWith('{')) {
    try {
      return JSON.parse(text) as AgentSteps;
    } catch (err) {
      throw new TwlError('TWL_INPUT_INVALID', `--steps is not JSON: ${(err as Error).message}.`, { actions: [`e.g. --steps '{"tools":[{"tool":"monitoring_health_check"}]}'.`] });
    }
  }
  if (text.startsWith('workflow:')) return { workflow: text.slice('workflow:'.length) };
  return { tools: text.split(',').map((t) => ({ tool: t.trim() })).filter((t) => t.tool) };
}

export const agentTable = (agents: Agent[]): string =>
  table(
    ['name', 'kind', 'parent', 'status', 'tools', 'model', 'reason'],
    agents.map((a) => [a.name, a.kind, a.parent ?? '', a.status, a.tools.join(' '), a.model ?? '', a.reason ?? '']),
  );

export const agentLine = (a: Agent): string => `agent ${a.name} (${a.kind}${a.parent ? ` under ${a.parent}` : ''}) ${a.status}${a.reason ? `: ${a.reason}` : ''}`;

export function agentDetail(a: Agent, next: string[], children: string[], runs: AgentRun[]): string {
  const lines = [
    agentLine(a),
    `may become: ${next.join(', ') || 'nothing'}`,
    `tools ${a.tools.join(' ') || '(none)'}${a.policy.preapprove?.length ? ` · pre-approved ${a.policy.preapprove.join(' ')}` : ''}`,
    `model ${a.model ?? '(llm.model)'}${a.steps ? ` · steps ${JSON.stringify(a.steps)}` : ''}`,
    `leads ${children.join(', ') || 'nobody'}`,
    `created ${a.createdAt} by ${a.createdBy} · updated ${a.updatedAt}`,
  ];
  if (a.instructions) lines.push('', a.instructions);
  if (runs.length) lines.push('', table(['run', 'status', 'mode', 'actor', 'started', 'ended', 'error'], runs.map((r) => [`#${r.id}`, r.status, r.mode ?? '', r.actor, r.startedAt, r.endedAt ?? '', r.error ?? ''])));
  return lines.join('\n');
}

export const stepTable = (steps: AgentStep[]): string =>
  table(
    ['run', 'agent', 'step', 'name', 'ok', 'ms', 'error'],
    steps.map((s) => [`#${s.runId}`, s.agent, s.kind, s.name ?? '', s.ok ? 'yes' : 'no', s.ms, s.error ?? '']),
  );
