/**
 * How a step ends a run other than by finishing or failing: a gate that stops it (a success), and a
 * question about approval that nobody could answer (the run waits). Thrown by step kinds, caught by the engine.
 */
export class WorkflowStopped extends Error {
  override readonly name = 'WorkflowStopped';
  constructor(readonly reason: string) {
    super(reason);
  }
}

export class ApprovalPending extends Error {
  override readonly name = 'ApprovalPending';
  constructor(readonly question: string) {
    super(`Waiting for approval: ${question}`);
  }
}
