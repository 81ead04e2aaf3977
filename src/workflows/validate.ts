import { distance } from 'fastest-levenshtein';
import { z } from 'zod';
import { roleRank } from '../http/roles.js';
import { describeInputIssues } from '../ops/invoke.js';
import { roles, type OpAnnotations, type Role } from '../ops/op.js';
import { expressionProblem, templateParts } from './expr.js';
import { stepList } from './steps/base.js';
import { stepKinds } from './steps/index.js';
import { reservedWorkflowNames, workflowGrants, workflowNamePattern, workflowToolName, type StepBase, type StepExpression, type WorkflowDef, type WorkflowProblem } from './types.js';

/** What validation needs of the catalog: a tool by name (twl's or an upstream's), and every name for hints. */
export interface ToolLookup {
  get(name: string): Promise<{ minRole: Role; needsApproval: boolean; annotations: OpAnnotations } | undefined>;
  names(): Promise<string[]>;
}

/** A validated workflow and what it derives from its steps' tools. */
export interface ValidWorkflow {
  def: WorkflowDef;
  minRole: Role;
  needsApproval: boolean;
  annotations: OpAnnotations;
  tools: string[];
}

export const closest = (name: string, candidates: string[]): string | undefined => {
  const best = candidates.map((c) => ({ c, d: distance(name, c) })).sort((x, y) => x.d - y.d)[0];
  return best && best.d <= Math.max(2, Math.floor(name.length / 3)) ? best.c : undefined;
};

const workflowSchema = z
  .object({
    name: z
      .string({ error: 'expected a name: a lowercase letter, then lowercase letters, digits and - (at most 48)' })
      .regex(workflowNamePattern, 'expected a name: a lowercase letter, then lowercase letters, digits and - (at most 48)')
      .refine((n) => !(reservedWorkflowNames as readonly string[]).includes(n), `is reserved for the workflow commands (${reservedWorkflowNames.join(', ')}): choose another name`),
    title: z.string().max(200).optional(),
    description: z.string().max(4000).optional(),
    input: z.record(z.string(), z.unknown()).default({ type: 'object', properties: {} }),
    output: z.string().min(1).optional(),
    steps: stepList,
    minRole: z.enum(roles).optional(),
    needsApproval: z.boolean().optional(),
    grants: z.enum(workflowGrants, { error: `expected caller (the default: steps run within the caller's namespaces) or definer (every namespace: a stored procedure)` }).default('caller'),
  })
  .strict();

/** A step met in the walk, in document order (the order steps can run in). */
interface Node {
  step: StepBase;
  kind: (typeof stepKinds extends ReadonlyMap<string, infer K> ? K : never) | undefined;
  path: string;
  /** Where it sits: each ancestor's path and which of its lists holds it. */
  at: Array<{ parent: string; list: number }>;
  /** The raw YAML path, for line numbers. */
  yamlPath: Array<string | number>;
  order: number;
}

/** Where a zod issue path points, as the step id path (`fan/health`) and the rest (`input.service`). */
function locate(raw: unknown, path: PropertyKey[]): { step?: string; rest: string } {
  const ids: string[] = [];
  let node: unknown = raw;
  let restFrom = 0;
  for (let i = 0; i < path.length; i++) {
    node = node && typeof node === 'object' ? (node as Record<PropertyKey, unknown>)[path[i]!] : undefined;
    if (node && typeof node === 'object' && !Array.isArray(node) && typeof (node as { id?: unknown }).id === 'string' && typeof (node as { kind?: unknown }).kind === 'string') {
      ids.push((node as { id: string }).id);
      restFrom = i + 1;
    }
  }
  return { ...(ids.length ? { step: ids.join('/') } : {}), rest: path.slice(restFrom).map(String).join('.') };
}

const issuesOf = (error: z.ZodError): Array<{ path: PropertyKey[]; message: string }> =>
  error.issues.map((i) => ({ path: i.path, message: i.code === 'unrecognized_keys' ? `unknown key${i.keys.length > 1 ? 's' : ''} ${i.keys.map((k) => `"${k}"`).join(', ')}` : i.message }));

/** Every "{{ expr }}" inside a step's own fields (nested steps excluded: they are checked as themselves). */
function templatesOf(value: unknown, skip: Set<unknown>, field: string, out: StepExpression[]): void {
  if (skip.has(value)) return;
  if (typeof value === 'string') {
    if (value.includes('{{')) for (const expr of templateParts(value)) out.push({ field, expr });
  } else if (Array.isArray(value)) value.forEach((v, i) => templatesOf(v, skip, `${field}[${i}]`, out));
  else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) templatesOf(v, skip, field ? `${field}.${k}` : k, out);
}

const STEP_REF = /\bsteps\.([A-Za-z_][A-Za-z0-9_]*)/g;

/**
 * Validates one workflow as written: its schema, each step by its kind, unique ids, expressions that
 * compile and name only steps that ran before them, and tools the catalog has (the nearest name when
 * not). Returns the workflow with what it derives from its tools, or the problems, each naming the step.
 */
export async function validateWorkflow(raw: unknown, file: string, lookup: ToolLookup, lineOf?: (path: Array<string | number>) => number | undefined): Promise<{ valid?: ValidWorkflow; problems: WorkflowProblem[] }> {
  const problems: WorkflowProblem[] = [];
  const name = raw && typeof raw === 'object' && typeof (raw as { name?: unknown }).name === 'string' ? (raw as { name: string }).name.slice(0, 60) : undefined;
  const add = (problem: string, step?: string, yamlPath?: Array<string | number>) => {
    const line = yamlPath && lineOf?.(yamlPath);
    problems.push({ file, ...(name ? { workflow: name } : {}), ...(step ? { step } : {}), ...(line ? { line } : {}), problem });
  };
  const top = workflowSchema.safeParse(raw);
  if (!top.success) {
    for (const issue of issuesOf(top.error)) {
      const where = locate(raw, issue.path);
      add(`${where.rest || 'workflow'}: ${issue.message}`, where.step, issue.path.map((p) => (typeof p === 'number' ? p : String(p))));
    }
    // A step's own problems are worth reporting even when a top-level key is wrong: go on if the steps are a list.
    if (!Array.isArray((raw as { steps?: unknown } | null)?.steps)) return { problems };
  }
  const wf = top.success ? top.data : (raw as z.output<typeof workflowSchema>);
  if (top.success) {
    try {
      const schema = wf.input;
      if (schema.type !== 'object') throw new Error(`expected an object schema (type: object), got type ${JSON.stringify(schema.type)}`);
      z.fromJSONSchema(schema as Parameters<typeof z.fromJSONSchema>[0]);
    } catch (err) {
      add(`input: not a usable JSON Schema: ${(err as Error).message}`, undefined, ['input']);
    }
    if (wf.output) {
      const p = expressionProblem(wf.output);
      if (p) add(`output: ${p}`, undefined, ['output']);
    }
  }

  // Walk the steps in document order, each validated by its kind.
  const nodes: Node[] = [];
  const byId = new Map<string, Node>();
  const walk = (list: unknown[], parentPath: string, at: Node['at'], yamlPathFor: (step: unknown, i: number) => Array<string | number>) => {
    list.forEach((rawStep, i) => {
      const yamlPath = yamlPathFor(rawStep, i);
      const s = rawStep as StepBase;
      const id = typeof s?.id === 'string' ? s.id : `#${i + 1}`;
      const path = parentPath ? `${parentPath}/${id}` : id;
      const kind = stepKinds.get(s?.kind);
      if (!kind) {
        const known = [...stepKinds.keys()];
        const hint = typeof s?.kind === 'string' ? closest(s.kind, known) : undefined;
        add(`kind: ${s?.kind === undefined ? 'missing' : `unknown kind ${JSON.stringify(String(s.kind).slice(0, 60))}`}${hint ? `; did you mean ${hint}?` : ''} (kinds: ${known.join(', ')})`, path, [...yamlPath, 'kind']);
        return;
      }
      const parsed = kind.schema.safeParse(rawStep);
      if (!parsed.success) {
        for (const issue of issuesOf(parsed.error)) add(`${issue.path.map(String).join('.') || 'step'}: ${issue.message}`, path, [...yamlPath, ...issue.path.map((p) => (typeof p === 'number' ? p : String(p)))]);
        return;
      }
      const step = parsed.data;
      const node: Node = { step, kind, path, at, yamlPath, order: nodes.length };
      if (byId.has(step.id)) add(`id: ${step.id} is used twice (also at ${byId.get(step.id)!.path}): step ids are unique in a workflow, nested steps included`, path, [...yamlPath, 'id']);
      else byId.set(step.id, node);
      nodes.push(node);
      (kind.children?.(step) ?? []).forEach((children, li) => walk(children, path, [...at, { parent: path, list: li }], (child) => yamlPathOf(rawStep, child, yamlPath)));
    });
  };
  walk(wf.steps ?? [], '', [], (_, i) => ['steps', i]);

  // Expressions: they compile, and name only steps that exist and have run by then.
  for (const node of nodes) {
    const exprs: StepExpression[] = [];
    if (node.step.when) exprs.push({ field: 'when', expr: node.step.when });
    exprs.push(...(node.kind?.expressions?.(node.step) ?? []));
    const skip = new Set<unknown>((node.kind?.children?.(node.step) ?? []).flat());
    const own = Object.fromEntries(Object.entries(node.step).filter(([k]) => k !== 'id' && k !== 'kind' && k !== 'when'));
    templatesOf(own, skip, '', exprs);
    for (const e of exprs) {
      const p = expressionProblem(e.expr);
      if (p) {
        add(`${e.field}: ${p}`, node.path, [...node.yamlPath, e.field.split(/[.[]/)[0]!]);
        continue;
      }
      for (const m of e.expr.matchAll(STEP_REF)) {
        const problem = referenceProblem(m[1]!, node, e, byId);
        if (problem) add(`${e.field}: ${problem}`, node.path, [...node.yamlPath, e.field.split(/[.[]/)[0]!]);
      }
    }
  }

  // Tools: known to the catalog; a workflow does not call workflows.
  const toolsUsed = new Set<string>();
  let minRole: Role = 'viewer';
  let needsApproval = false;
  const annotations: OpAnnotations = { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false };
  let names: string[] | undefined;
  for (const node of nodes) {
    if (node.step.approval === 'ask') needsApproval = true;
    for (const tool of node.kind?.tools?.(node.step) ?? []) {
      if (/[*?]/.test(tool)) continue; // a glob (an LLM's choice of tools): checked when called
      if (tool.startsWith('workflow_')) {
        add(`tool: ${tool} is a workflow; a workflow calls tools, not other workflows (use a chain step for shared steps)`, node.path, [...node.yamlPath, 'tool']);
        continue;
      }
      const found = await lookup.get(tool).catch(() => undefined);
      if (!found) {
        names ??= await lookup.names().catch(() => []);
        const hint = closest(tool, names.filter((n) => !n.startsWith('workflow_')));
        add(`tool: unknown tool ${JSON.stringify(tool.slice(0, 200))}${hint ? `; did you mean ${hint}?` : ''} (\`twl tools list\` shows the tools)`, node.path, [...node.yamlPath, 'tool']);
        continue;
      }
      toolsUsed.add(tool);
      if (roleRank(found.minRole) > roleRank(minRole)) minRole = found.minRole;
      if (found.needsApproval && node.step.approval !== 'never') needsApproval = true;
      if (!found.annotations.readOnlyHint) annotations.readOnlyHint = false;
      if (found.annotations.destructiveHint) annotations.destructiveHint = true;
      if (!found.annotations.idempotentHint) annotations.idempotentHint = false;
      if (found.annotations.openWorldHint) annotations.openWorldHint = true;
    }
  }
  if (problems.length || !top.success) return { problems };
  const def: WorkflowDef = { name: wf.name, ...(wf.title ? { title: wf.title } : {}), ...(wf.description ? { description: wf.description } : {}), input: wf.input, ...(wf.output ? { output: wf.output } : {}), steps: wf.steps as StepBase[], ...(wf.minRole ? { minRole: wf.minRole } : {}), ...(wf.needsApproval !== undefined ? { needsApproval: wf.needsApproval } : {}), grants: wf.grants ?? 'caller', file };
  return { valid: { def, minRole: wf.minRole ?? minRole, needsApproval: wf.needsApproval ?? needsApproval, annotations, tools: [...toolsUsed] }, problems };
}

/** Where a nested step sits in its parent's YAML (`branches.2`, `branches.urgent.0`), found by its id. */
function yamlPathOf(parent: unknown, child: unknown, base: Array<string | number>): Array<string | number> {
  const id = (child as StepBase)?.id;
  const search = (value: unknown, path: Array<string | number>, depth: number): Array<string | number> | undefined => {
    if (Array.isArray(value)) {
      const i = value.findIndex((c) => (c as StepBase)?.id === id);
      if (i >= 0) return [...path, i];
    }
    if (depth > 0 && value && typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) {
        const found = search(v, [...path, Array.isArray(value) ? Number(k) : k], depth - 1);
        if (found) return found;
      }
    }
    return undefined;
  };
  return search(parent, base, 3) ?? base;
}

/** Why an expression of `node` may not name step `ref`, or undefined. */
function referenceProblem(ref: string, node: Node, e: StepExpression, byId: Map<string, Node>): string | undefined {
  const target = byId.get(ref);
  if (!target) {
    const hint = closest(ref, [...byId.keys()]);
    return `names steps.${ref}, but no step has the id ${ref}${hint ? `; did you mean ${hint}?` : ''}`;
  }
  if (target === node) return e.after ? undefined : `names steps.${ref}, this step itself: its output does not exist yet`;
  const isDescendant = target.at.some((a) => a.parent === node.path);
  if (isDescendant) return e.after ? undefined : `names steps.${ref}, a step inside this one: it has not run yet when ${e.field} is evaluated`;
  if (node.at.some((a) => a.parent === target.path)) return `names steps.${ref}, a step this one runs inside: its output exists only once this step ended`;
  // Different lists of the same parent: other branches (parallel: at the same time; route: maybe never).
  for (const a of node.at) {
    const other = target.at.find((b) => b.parent === a.parent);
    if (other && other.list !== a.list) return `names steps.${ref}, in another branch of ${a.parent}: it runs at the same time or not at all`;
  }
  if (target.order > node.order) return `names steps.${ref}, which comes later (${target.path}): a step sees only the outputs of the steps before it`;
  return undefined;
}

/** A problem as one line: `file:line: workflow W, step S: problem`. */
export const problemLine = (p: WorkflowProblem): string => `${p.file}${p.line ? `:${p.line}` : ''}: ${p.workflow ? `workflow ${p.workflow}` : 'workflow'}${p.step ? `, step ${p.step}` : ''}: ${p.problem}`;

export { workflowToolName, describeInputIssues };
