import { approveTask } from '../../studio/service.js';
import { taskVerb } from './schemas.js';

export default taskVerb('approve', {
  title: 'Approve a task waiting for approval',
  description:
    'For a task waiting_approval (its tool needs approval, or is destructive): records who approved it and puts it in the queue as its trigger says. The approval covers every run of this task. Needs the manager role.',
  minRole: 'manager',
  change: (runtime, id, caller) => approveTask(runtime, id, caller),
});
