import { pauseTask } from '../../studio/service.js';
import { taskVerb } from './schemas.js';

export default taskVerb('pause', {
  title: 'Pause a task',
  description:
    'Takes a scheduled or queued task out of the queue (its cron schedule or its waiting run) until `task resume`. A running task cannot be paused: cancel it, or let it finish.',
  minRole: 'operator',
  change: (runtime, id, caller) => pauseTask(runtime, id, caller),
});
