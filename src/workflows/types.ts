/**
 * The workflow engine's shared types (CONTRACT.md, section Workflows): a workflow is a list of
 * steps, each of a kind (src/workflows/steps/<kind>.ts) that validates its YAML with a zod schema
 * and runs through a StepContext. No runtime code here beyond constants: every part imports it.
 */
import type { ZodType } from 'zod';
import type { Role } from '../ops/op.js';
import type { Llm } from '../runtime/llm.js';
import type { CatalogTool } from '../tools/types.js';

/** A workflow's name: its file's `name:`; its catalog tool is `workflow_<name with - → _>`. */
export const workflowNamePattern = /^[a-z][a-z0-9-]{0,47}$/;
/** A step's id, unique in its workflow (nested steps included): `steps.<id>` in expressions. */
export const stepIdPattern = /^[a-z][a-z0-9_]{0,47}$/;
/** Names a workflow may not take: the workflow ops' own MCP tools (workflow_list, workflow_run…). */
export const reservedWorkflowNames = ['list', 'run', 'runs', 'show', 'validate'] as const;
/** The catalog tool of a workflow. */
export const workflowToolName = (name: string): string => `workflow_${name.replaceAll('-', '_')}`;

/** Whose namespace grant a workflow's steps run under (WorkflowDef.grants). */
export const workflowGrants = ['caller', 'definer'] as const;
export type WorkflowGrants = (typeof workflowGrants)[number];

/** What every step has, whatever its kind. */
export interface StepBase {
  id: string;
  kind: string;
  title?: string;
  /** An expression: the step is skipped when it is false. */
  when?: string;
  /** A duration (`30s`, `2m`): the step's signal aborts after it and the step fails with TWL_TIMEOUT. */
  timeout?: string;
  /** `ask`: ask before the step runs; `never`: the workflow's author approves the step's tool in advance. */
  approval?: 'ask' | 'never';
}

/** A step as run: the id path (`fan/health`) names it in records, progress and errors. */
export interface StepContext {
  workflow: string;
  runId: string;
  /** This step's id path, `/`-separated from the top-level step. */
  path: string;
  /** `input`, `steps` (outputs so far, by id), and the bindings of enclosing steps (`item`, `index`, `round`, `previous`). */
  scope: Record<string, unknown>;
  /** A JSONata expression over the scope (extra bindings merged over it). Compiled once, cached. */
  evaluate(expr: string, scope?: Record<string, unknown>): Promise<unknown>;
  /** Templates, deep over objects and arrays: a string that is exactly "{{ expr }}" is the value; others interpolate text. */
  render(template: unknown, scope?: Record<string, unknown>): Promise<unknown>;
  /** A catalog tool (audited, role-checked, asks for approval when its tool needs it); the output, structured or text. */
  callTool(name: string, input: Record<string, unknown>): Promise<unknown>;
  /** The catalog's tools this run may call (its caller's role), for planners: names, descriptions, input schemas. */
  tools(): Promise<CatalogTool[]>;
  /** Nested steps in order, recorded as children of this step; the last one's output. `scope` adds bindings. */
  runSteps(steps: StepBase[], scope?: Record<string, unknown>): Promise<unknown>;
  /** Ollama, else the MCP client's model (sampling), else none. */
  llm(): Llm | undefined;
  /** Aborted by Ctrl-C, MCP cancellation, or the step's timeout. */
  signal: AbortSignal;
  progress(message: string): void;
  /** Asks the person behind the caller; undefined: nobody can answer (the run then waits for approval). */
  ask(question: string): Promise<boolean | undefined>;
  /** Recorded on the step (the route taken, a gate's result, a score…). */
  decide(decision: string, detail?: unknown): void;
}

/** An expression a step holds, for validation (it must compile; the steps it names must come earlier). */
export interface StepExpression {
  /** The field, for the error (`if`, `aggregate`, `rules[0].when`). */
  field: string;
  expr: string;
  /** Evaluated after the step's children ran (an aggregate): it may name them. */
  after?: boolean;
}

export interface StepKind<S extends StepBase = StepBase> {
  kind: string;
  /** Validates the YAML of this kind (the StepBase fields included: use stepBase.extend). Child steps stay raw (stepList). */
  schema: ZodType<S>;
  /** Nested step lists: lists of one parent that are different entries run apart (parallel branches, route branches). */
  children?(step: S): StepBase[][];
  /** Expressions of the step's own fields (not templates: every "{{ }}" string is found without help). */
  expressions?(step: S): StepExpression[];
  /** The catalog tools the step calls by name (checked at validation; a workflow's role and approval derive from them). */
  tools?(step: S): string[];
  run(step: S, ctx: StepContext): Promise<unknown>;
}

/** A workflow as loaded and validated; its steps are kept raw and parsed by their kind on first run. */
export interface WorkflowDef {
  name: string;
  title?: string;
  description?: string;
  /** JSON Schema of the input (an object schema). */
  input: Record<string, unknown>;
  /** An expression over the final scope: the run's result (default: the last step's output). */
  output?: string;
  steps: StepBase[];
  /** Declared; otherwise the most demanding of its steps' tools. */
  minRole?: Role;
  needsApproval?: boolean;
  /**
   * Whose namespace grant its steps' tool calls are checked against: `caller` (the default) — the
   * key that runs it, so a workflow never reaches a namespace its caller could not call directly;
   * `definer` — every namespace (the workflow's author, who wrote the configuration), a stored
   * procedure that a key granted only `workflow` may run. Roles and approvals are the caller's either way.
   */
  grants: WorkflowGrants;
  /** The file it came from (the configuration file for inline `workflows:`). */
  file: string;
}

/** Why a workflow was refused: the file, the workflow, the step (id path) and the problem. */
export interface WorkflowProblem {
  file: string;
  workflow?: string;
  step?: string;
  /** 1-based line in the file, when known. */
  line?: number;
  problem: string;
}

export const runStatuses = ['running', 'completed', 'failed', 'stopped', 'cancelled', 'waiting_approval'] as const;
export type RunStatus = (typeof runStatuses)[number];
export const stepStatuses = ['running', 'completed', 'failed', 'skipped', 'stopped', 'cancelled', 'waiting_approval'] as const;
export type StepStatus = (typeof stepStatuses)[number];
