import { resumeTask } from '../../studio/service.js';
import { taskVerb } from './schemas.js';

export default taskVerb('resume', {
  title: 'Resume a paused task (or submit a draft)',
  description:
    'Puts a paused task back in the queue as its trigger says (a run at a time already past runs now), or submits a draft.',
  minRole: 'operator',
  change: (runtime, id, caller) => resumeTask(runtime, id, caller),
});
