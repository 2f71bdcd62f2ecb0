/**
 * The real Java worker (the jar `mvn package` builds) follows
 * Assignments.result_target: the suite of result-target-suite.ts (routed
 * attempts, ":port", an invalid target, idle channels, two masters in
 * multi-master mode). worker/java's RoutesTest.java covers the same in process.
 */
import { startJavaWorker } from './java-worker-process.js';
import { describeResultTarget } from './result-target-suite.js';
import { JAVA_JAR, javaMissing } from './worker-implementations.js';

describeResultTarget({
  name: 'Java',
  missing: javaMissing(),
  command: ['java', ['-jar', JAVA_JAR]],
  start: (group, c, env) => startJavaWorker(group, c, env),
});
