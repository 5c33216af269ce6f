// Prints, after a run, how many tests each project (unit, e2e, real-node) passed, failed and skipped, so
// that a CI log shows at a glance when a whole project did not run.
export default class ProjectCountsReporter {
  onRunComplete(_contexts, results) {
    const counts = new Map();
    for (const file of results.testResults) {
      const project = file.displayName?.name ?? 'default';
      const c = counts.get(project) ?? { passed: 0, failed: 0, skipped: 0 };
      c.passed += file.numPassingTests;
      c.failed += file.numFailingTests;
      c.skipped += file.numPendingTests + file.numTodoTests;
      counts.set(project, c);
    }
    const lines = [...counts].map(([project, c]) => `  ${project}: ${c.passed} passed, ${c.failed} failed, ${c.skipped} skipped`);
    process.stderr.write(`\ntests per project:\n${lines.join('\n')}\n`);
  }
}
