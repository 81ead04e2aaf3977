import { z } from 'zod';
import { checkCron, checkRunAt, checkTimeZone, nextRunOf } from '../../studio/triggers.js';
import { TASK_ROLE, resolveTool } from '../../studio/call.js';
import { createTask } from '../../studio/service.js';
import { getAgent } from '../../studio/agents.js';
import { durationHint, parseDuration } from '../../runtime/duration.js';
import { workflowToolName } from '../../workflows/types.js';
import { TwlError, unseenTool } from '../../runtime/errors.js';
import { defineOp, roles } from '../op.js';
import { changesTask, taskResult } from './schemas.js';


export default defineOp({
  id: 'task.create',
  mcpName: 'task_create',
  title: 'Create a task',
  description:
    'Creates a task that calls a tool or runs an agent (`tool` with its `input`) now, at a time (`at`, ISO 8601 with a time zone), or on a cron schedule (`cron`, five fields, in `tz`, default UTC), ' +
    'and puts it in the job queue, where `twl worker` processes take its runs. A failed run is retried with exponential backoff (`retries`), each run is stopped after `timeout`, ' +
    'and every attempt is an execution record with its output lines. A tool that needs approval or is destructive waits for `task approve` (waiting_approval). `draft` keeps it out of the queue until `task resume`. ' +
    'An agent task (`agent`, `prompt`) runs the agent (`twl agent run`), its steps on the execution record. A workflow task (`workflow`, its `input`) runs the workflow\'s tool workflow_<name>, every run recorded (`twl workflow runs`); one whose steps need approval waits for `task approve`. ' +
    'A task keeps the namespaces of the API key that created it (`namespaces`, null: every one), and every call its runs make is checked against them as if the key made it: a call outside them fails the run as a call of a tool that does not exist would (TWL_TOOL_UNKNOWN; the audit row says TWL_NAMESPACE_DENIED), not retried. ' +
    'It also records that key (`createdByKey`): once the key is revoked, each run fails with TWL_KEY_REVOKED, not retried, and a cron task\'s schedule is removed. ' +
    'A task created with an OAuth access token records when that token expires (`grantExpiresAt`): a run after that fails with TWL_GRANT_EXPIRED the same way, so a lasting schedule needs an API key; a task that could not run once before then (`at` later, a cron schedule whose first tick is later) is refused at creation.',
  input: z.object({
    tool: z.string().min(1).max(200).optional().describe('The tool to call, by its MCP name.'),
    input: z.record(z.string(), z.unknown()).default({}).describe('The tool\'s (or the workflow\'s) input.'),
    agent: z.string().min(1).max(200).optional().describe('An agent to run on `prompt` (`twl agent list`).'),
    prompt: z.string().min(1).max(100_000).optional().describe('The agent\'s prompt (with agent).'),
    workflow: z.string().min(1).max(200).optional().describe('A workflow to run, by name (`twl workflow list`).'),
    now: z.boolean().optional().describe('Run now.'),
    at: z.string().max(100).optional().describe('Run once at this time: ISO 8601 with Z or an offset, e.g. 2026-12-24T18:00:00Z.'),
    cron: z.string().max(200).optional().describe('Run on this schedule: five cron fields (minute hour day month weekday), e.g. "*/5 * * * *".'),
    tz: z.string().max(100).optional().describe('The cron schedule\'s IANA time zone, e.g. Europe/Paris (default UTC).'),
    name: z.string().min(1).max(200).optional(),
    queue: z
      .string()
      .regex(/^[a-z0-9][a-z0-9_-]{0,31}$/, 'expected a queue name: lowercase letters, digits, - and _ (up to 32)')
      .default('default')
      .describe('The queue its runs go to (`twl worker --queues`).'),
    retries: z.number().int().min(0).max(100).optional().describe('Retries of a failed run (default tasks.retries).'),
    timeout: z.union([z.string(), z.number()]).optional().describe(`How long one run may take (${durationHint}; default tasks.timeout).`),
    draft: z.boolean().default(false).describe('Keep it as a draft, out of the queue, until `task resume`.'),
  }),
  output: taskResult,
  annotations: changesTask,
  policy: { minRole: 'manager', needsApproval: false, timeoutMs: 60_000 },
  async run(ctx, input) {
    const targets = [input.tool && '--tool', input.agent && '--agent', input.workflow && '--workflow'].filter(Boolean);
    if (targets.length !== 1) {
      throw new TwlError('TWL_INPUT_INVALID', `A task runs exactly one thing: ${targets.length ? `got ${targets.join(' and ')}` : 'none of --tool, --agent, --workflow was given'}.`, {
        actions: ['Give one of --tool NAME --input JSON, --agent NAME --prompt TEXT, --workflow NAME.'],
      });
    }
    if (input.prompt && !input.agent) throw new TwlError('TWL_INPUT_INVALID', '--prompt goes with --agent, not --tool.', { actions: ['Pass the tool\'s arguments with --input JSON.'] });
    if (input.agent && !input.prompt) throw new TwlError('TWL_INPUT_INVALID', `--agent ${input.agent} needs --prompt TEXT: what the agent should do.`, { actions: [`e.g. --agent ${input.agent} --prompt "Check the database and report"`] });

    const when = [input.now && '--now', input.at !== undefined && '--at', input.cron !== undefined && '--cron'].filter(Boolean);
    if (when.length !== 1) {
      throw new TwlError('TWL_INPUT_INVALID', `A task runs at exactly one kind of time: ${when.length ? `got ${when.join(' and ')}` : 'none of --now, --at, --cron was given'}.`, {
        actions: ['Give one of --now, --at 2026-12-24T18:00:00Z, --cron "*/5 * * * *".'],
      });
    }
    if (input.tz !== undefined && input.cron === undefined) throw new TwlError('TWL_INPUT_INVALID', '--tz goes with --cron (an --at time carries its own offset).', { actions: ['Drop --tz, or write the --at time with its offset, e.g. 2026-12-24T18:00:00+01:00.'] });
    const tz = input.tz === undefined ? undefined : checkTimeZone(input.tz);
    const cron = input.cron === undefined ? undefined : checkCron(input.cron, tz);
    const runAt = input.at === undefined ? undefined : checkRunAt(input.at);

    // An OAuth caller's grant ends with its access token: every run after that is refused (TWL_GRANT_EXPIRED),
    // so a task that could not run once before then is refused now, rather than failing at its first run.
    if (ctx.grantExpiresAt !== undefined) {
      const ends = Date.parse(ctx.grantExpiresAt);
      const first = runAt ?? (cron ? nextRunOf({ status: 'scheduled', trigger: 'cron', runAt: null, cron, tz: tz ?? 'UTC' }) : new Date().toISOString());
      if (!(Date.parse(first ?? '') < ends)) {
        throw new TwlError('TWL_GRANT_EXPIRED', `This task would first run at ${first ?? 'no time'}, and the OAuth access token that creates it expires at ${ctx.grantExpiresAt}: a task acts with its creator's grant only while that token is valid, so it could never run.`, {
          details: { firstRun: first, grantExpiresAt: ctx.grantExpiresAt },
          actions: [`Run it earlier (--at before ${ctx.grantExpiresAt}), or create it with an API key (\`twl keys create --role manager\`), whose tasks run until the key is revoked, or from the command line.`],
        });
      }
      if (cron) ctx.warn(`This cron task's runs stop at ${ctx.grantExpiresAt}, when the OAuth access token that creates it expires: each run after that fails with TWL_GRANT_EXPIRED and its schedule is removed. For a lasting schedule, create it with an API key or from the command line.`);
    }

    let timeoutMs = ctx.config.tasks.timeout;
    if (input.timeout !== undefined) {
      const ms = parseDuration(input.timeout);
      if (ms === undefined || ms < 1000 || ms > 86_400_000) throw new TwlError('TWL_INPUT_INVALID', `--timeout ${JSON.stringify(input.timeout)} is not a duration between 1s and 1d: expected ${durationHint}.`);
      timeoutMs = ms;
    }

    // A task runs later on a worker, without the creator's key: it keeps the key's grant, and its runs are held to it
    // (the tool, a workflow's steps, an agent's tools). The tool or workflow itself must be inside it now: fail early.
    if (ctx.namespaces) {
      const target = input.workflow ? workflowToolName(input.workflow) : input.tool;
      // Said as the catalog says it (`unseenTool`), whether or not the tool exists elsewhere: a key cannot learn what
      // other namespaces hold. The audit row says which it was.
      if (target && !(await ctx.tools.get(target, { namespaces: ctx.namespaces }))) {
        await ctx.tools.refused?.(target, undefined, { face: ctx.face, actor: ctx.actor, role: ctx.role, namespaces: ctx.namespaces, via: 'task' }, 'TWL_TOOL_UNKNOWN');
        throw unseenTool(target);
      }
    }

    const common = () => ({
      name: input.name,
      queue: input.queue,
      trigger: input.now ? ('now' as const) : runAt ? ('at' as const) : ('cron' as const),
      runAt,
      cron,
      tz: cron ? (tz ?? 'UTC') : undefined,
      retries: input.retries ?? ctx.config.tasks.retries,
      timeoutMs,
      // Every run checks its calls against the creator's grant (undefined: every namespace).
      ...(ctx.namespaces ? { namespaces: ctx.namespaces } : {}),
      // The key itself: a worker checks at each run that it is still live (revoked: TWL_KEY_REVOKED).
      ...(ctx.keyId !== undefined ? { createdByKey: ctx.keyId } : {}),
      // The end of an OAuth caller's grant: a worker refuses every run after it (TWL_GRANT_EXPIRED).
      ...(ctx.grantExpiresAt !== undefined ? { grantExpiresAt: ctx.grantExpiresAt } : {}),
      createdBy: ctx.actor,
      status: input.draft ? ('draft' as const) : ('pending' as const),
    });
    if (input.agent) {
      // The agent must exist now (a typo fails here, not at 3 a.m.); its status is checked when it runs.
      const agent = await getAgent(await ctx.store(), input.agent);
      const task = await createTask(ctx.runtime, {
        ...common(),
        kind: 'agent',
        input: { agent: agent.name, prompt: input.prompt! },
        // Nobody answers when a task runs: the agent's tools that change things run only when its policy pre-approves them.
        needsApproval: false,
      });
      return { task };
    }
    if (input.workflow && !(await ctx.tools.get(workflowToolName(input.workflow)))) {
      throw new TwlError('TWL_WORKFLOW_UNKNOWN', `No workflow named ${JSON.stringify(input.workflow.slice(0, 60))} (or it was left out: \`twl workflow validate\` says why).`);
    }
    const tool = await resolveTool(ctx.runtime, input.workflow ? workflowToolName(input.workflow) : input.tool!, input.input);
    if (tool.name.startsWith('task_')) throw new TwlError('TWL_INPUT_INVALID', `A task cannot call ${tool.name}: tasks do not create or change tasks.`, { actions: ['Call task tools directly (twl task …).'] });
    if (roles.indexOf(tool.minRole) > roles.indexOf(TASK_ROLE)) {
      throw new TwlError('TWL_ROLE_DENIED', `${tool.name} needs the ${tool.minRole} role, and tasks run tools up to the manager role.`, { actions: ['Run it directly with an admin key instead.'] });
    }
    const task = await createTask(ctx.runtime, {
      ...common(),
      kind: input.workflow ? 'workflow' : 'tool',
      tool: tool.name,
      input: input.input,
      // Nobody is there to answer when a task runs: what would ask on a terminal waits for `task approve`.
      needsApproval: tool.needsApproval || (!tool.readOnly && tool.destructive),
    });
    return { task };
  },
});
