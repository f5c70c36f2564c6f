import { writeSync } from 'node:fs';
import type { Reporter, TestModule, Vitest } from 'vitest/node';

/**
 * Prints one plain closing line, `tests: N passed, N failed, N skipped`, as the LAST line of the
 * run, so CI logs carry a runner-independent count. With --coverage, vitest prints the coverage
 * report after `onTestRunEnd`, so the line waits for `onFinishedReportCoverage` (or the process's
 * exit, when coverage is not reported because tests failed).
 */
export default class SummaryLineReporter implements Reporter {
  private vitest: Vitest | undefined;
  private pending: string | undefined;

  onInit(vitest: Vitest): void {
    this.vitest = vitest;
    process.once('exit', () => this.flush());
  }

  onTestRunEnd(testModules: readonly TestModule[]): void {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    for (const mod of testModules) {
      for (const test of mod.children.allTests()) {
        const state = test.result().state;
        if (state === 'passed') passed++;
        else if (state === 'failed') failed++;
        else skipped++;
      }
      if (mod.state() === 'failed' && mod.children.size === 0) failed++;
    }
    this.pending = `\ntests: ${passed} passed, ${failed} failed, ${skipped} skipped\n`;
    const coverage = this.vitest?.config.coverage;
    const reported = coverage?.enabled === true && (failed === 0 || coverage.reportOnFailure === true);
    if (!reported) this.flush();
  }

  /** Called by vitest after the coverage report (and threshold errors) were printed. */
  onFinishedReportCoverage(): void {
    this.flush();
  }

  private flush(): void {
    if (this.pending === undefined) return;
    writeSync(1, this.pending);
    this.pending = undefined;
  }
}
