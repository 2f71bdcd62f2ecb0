/**
 * The real Python worker follows Assignments.result_target: the suite of
 * result-target-suite.ts (routed attempts, ":port", an invalid target, idle
 * channels, two masters in multi-master mode with a Python worker in each
 * one's share).
 */
import { startPythonWorker } from './python-worker.js';
import { describeResultTarget } from './result-target-suite.js';
import { PYTHON_WORKER, pythonMissing } from './worker-implementations.js';

describeResultTarget({
  name: 'Python',
  missing: pythonMissing(),
  command: [PYTHON_WORKER, []],
  start: (group, c, env) => startPythonWorker(group, c, { env }),
});
