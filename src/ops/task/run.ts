import { runTaskNow } from '../../studio/service.js';
import { taskVerb } from './schemas.js';

export default taskVerb('run', {
  title: 'Run a task now',
  description:
    'Queues one run of the task now: a finished task (completed, failed, dead-lettered) runs again, a scheduled one runs ahead of its time (a cron schedule stays as it is). Refused while it is queued or running, and before its approval.',
  minRole: 'operator',
  change: (runtime, id, caller) => runTaskNow(runtime, id, caller),
});
