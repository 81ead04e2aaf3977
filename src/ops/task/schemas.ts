import { z } from 'zod';
import type { Runtime } from '../../runtime/context.js';
import type { TaskCaller } from '../../studio/service.js';
import { executionStatuses, taskStatuses, type Task } from '../../studio/tasks.js';
import { defineOp, type OpAnnotations, type Role } from '../op.js';

export const taskId = z.number().int().positive().max(Number.MAX_SAFE_INTEGER).describe('The task id.');

export const taskSchema = z.object({
  id: z.number().int(),
  name: z.string().nullable(),
  kind: z.enum(['tool', 'agent', 'workflow']),
  tool: z.string().nullable(),
  input: z.record(z.string(), z.unknown()),
  queue: z.string(),
  trigger: z.enum(['now', 'at', 'cron']),
  runAt: z.string().nullable(),
  cron: z.string().nullable(),
  tz: z.string().nullable(),
  status: z.enum(taskStatuses),
  reason: z.string().nullable().describe('Why it is in its status: the error, the dead-letter reason, who cancelled it.'),
  retries: z.number().int(),
  timeoutMs: z.number().int(),
  needsApproval: z.boolean(),
  approvedBy: z.string().nullable(),
  approvedAt: z.string().nullable(),
  jobId: z.string().nullable(),
  namespaces: z.array(z.string()).nullable().describe('The catalog namespaces its runs may reach: those of the API key that created it (`twl keys create --namespaces`), checked on every call a run makes; null: every one.'),
  createdBy: z.string(),
  createdByKey: z.number().int().nullable().describe('The id of the API key that created it (`twl keys list`): once that key is revoked, its runs fail with TWL_KEY_REVOKED. null: created without a key (the command line, stdio, an OAuth token).'),
  grantExpiresAt: z.string().nullable().describe('When the grant it acts with ends: the expiry (`exp`) of the OAuth access token that created it; its runs after that fail with TWL_GRANT_EXPIRED. null: a grant that does not end by itself (the command line, stdio, an API key, whose revocation stops it instead).'),
  createdAt: z.string(),
  updatedAt: z.string(),
});

export const executionSchema = z.object({
  id: z.number().int(),
  taskId: z.number().int(),
  jobId: z.string(),
  attempt: z.number().int(),
  worker: z.string(),
  status: z.enum(executionStatuses),
  startedAt: z.string(),
  endedAt: z.string().nullable(),
  error: z.string().nullable(),
  output: z.unknown(),
  toolCalls: z.array(z.object({ tool: z.string(), ok: z.boolean(), ms: z.number(), error: z.string().optional() })),
});

export const taskResult = z.object({ task: taskSchema });

/** The annotations of a verb that changes a task's status. */
export const changesTask = { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false } as const;

/** What every task verb's description ends with: a limited key acts only on the tasks within its grant. */
const grantNote =
  ' A key granted namespaces acts only on the tasks whose namespaces lie within its own (a task of a wider key, or of the command line, is refused with TWL_NAMESPACE_DENIED, as a task that does not exist would be, and the refusal is audited).';

/** A verb that changes one task by id (cancel, pause, resume, run, approve): the same op around its service call. */
export const taskVerb = (verb: string, spec: { title: string; description: string; minRole: Role; annotations?: Partial<OpAnnotations>; change: (runtime: Runtime, id: number, caller: TaskCaller) => Promise<Task> }) =>
  defineOp({
    id: `task.${verb}`,
    mcpName: `task_${verb}`,
    title: spec.title,
    description: spec.description + grantNote,
    input: z.object({ id: taskId }),
    output: taskResult,
    annotations: { ...changesTask, ...spec.annotations },
    policy: { minRole: spec.minRole, needsApproval: false, timeoutMs: 30_000 },
    async run(ctx, { id }) {
      return { task: await spec.change(ctx.runtime, id, { actor: ctx.actor, ...(ctx.namespaces ? { namespaces: ctx.namespaces } : {}) }) };
    },
  });
