import type { StepKind } from '../types.js';
import { chainStep } from './chain.js';
import { evaluateStep } from './evaluate.js';
import { gateStep } from './gate.js';
import { llmStep } from './llm.js';
import { orchestratorStep } from './orchestrator.js';
import { parallelStep } from './parallel.js';
import { routeStep } from './route.js';
import { toolStep } from './tool.js';

/**
 * Every step kind, by its `kind:`. The engine (wfengine) writes tool, chain, gate and parallel; the
 * LLM kinds (llm, route, orchestrator, evaluate) are added here by their own files.
 */
export const stepKinds: ReadonlyMap<string, StepKind> = new Map<string, StepKind>(
  ([toolStep, chainStep, gateStep, parallelStep, llmStep, routeStep, orchestratorStep, evaluateStep] as unknown as StepKind[]).map((k) => [k.kind, k]),
);
