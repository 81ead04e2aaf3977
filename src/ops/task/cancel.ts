import { cancelTask } from '../../studio/service.js';
import { taskVerb } from './schemas.js';

export default taskVerb('cancel', {
  title: 'Cancel a task',
  description:
    'Cancels a task: its schedule and its waiting run leave the queue, and a running task is stopped by its worker (within a second). Final: a cancelled task does not run again.',
  minRole: 'operator',
  annotations: { destructiveHint: true },
  change: (runtime, id, caller) => cancelTask(runtime, id, caller),
});
