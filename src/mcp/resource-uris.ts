import { AGENT_NAME } from '../studio/agents.js';

/** The URIs of twl's resources, and how their ids are read from them (resources.ts, agent-resources.ts). */

export const TICKETS_URI = 'twl://tickets';
export const AUDIT_URI = 'twl://audit';
export const HEALTH_URI = 'twl://health';
export const WORKFLOWS_URI = 'twl://workflows';
export const AGENTS_URI = 'twl://agents';

/** A ticket id from `twl://tickets/{id}`, or undefined. */
export function ticketIdOf(uri: string): number | undefined {
  const m = /^twl:\/\/tickets\/(\d{1,15})$/.exec(uri);
  const id = m ? Number(m[1]) : NaN;
  return Number.isSafeInteger(id) && id > 0 ? id : undefined;
}

/** A workflow run's id from `twl://workflows/{run}`, or undefined. */
export function workflowRunOf(uri: string): number | undefined {
  const m = /^twl:\/\/workflows\/(\d{1,15})$/.exec(uri);
  return m ? Number(m[1]) : undefined;
}

/** An agent's name from `twl://agents/{name}`, or undefined. */
export function agentNameOf(uri: string): string | undefined {
  const m = /^twl:\/\/agents\/([^/?#]+)$/.exec(uri);
  return m && AGENT_NAME.test(m[1]!) ? m[1] : undefined;
}
