import path from 'node:path';
import { success } from '@qi/base';
import { createCoordinator } from '../../coordinator/coordinator.js';
import { DEFAULT_PROBE_FILE } from '../../plugins/probe-store.js';
import { asInterrupted, SIGNAL_EXIT } from '../interrupt.js';
import { EXIT, logDestination, outputsOnce, printJson, reportFailure, type CommandResult, type OutputMode } from '../output.js';
import { LineRenderer, TtyRenderer, type ProgressRenderer } from '../progress/renderers.js';
import { formatSummary } from '../summary.js';
import { resumeHint, watchRun } from './run.js';

export const resumeHelp = `Usage: qicoord resume RUN_ID [--journal DIR] [--config C] [--json] [--verbose] [--log-format human|json]

Continues a run that was interrupted (the coordinator killed, the machine rebooted, Ctrl-C) from
its journal: subtasks that had succeeded are not run again and their outputs feed their
dependents; subtasks that were running run again (under a higher attempt number: none is ever
used twice); synchronization points that had released keep their outcome. A run that had
finished prints its stored result. 'qicoord runs' lists the runs.

Options:
  --journal DIR      the journal folder (default: the config's journal.dir, else .qicoord/runs in
                     the current folder)
  --config C         the config the run started with (default: the .qicoordrc found from here)
  --json             print the Result as JSON on stdout

Exit codes: as 'qicoord run'; 2 for an unknown run, a changed task or config, or a run another
live process is running (named).`;

export interface ResumeOptions {
  readonly runId: string;
  readonly journal?: string | undefined;
  readonly config?: string | undefined;
  readonly mode: OutputMode;
}

export async function resumeCommand(o: ResumeOptions): CommandResult {
  const { mode } = o;
  const destination = logDestination(mode);
  const created = await createCoordinator({
    cwd: process.cwd(),
    ...(o.config === undefined ? {} : { configPath: o.config }),
    journal: o.journal === undefined ? {} : { dir: path.resolve(o.journal) },
    probeFile: DEFAULT_PROBE_FILE,
    ...(destination === undefined ? {} : { logDestination: destination }),
  });
  if (created.tag === 'failure') return reportFailure(created, mode);
  const coordinator = created.value;
  const progress = announcingResume(process.stderr.isTTY ? new TtyRenderer(process.stderr) : new LineRenderer(process.stderr), o.runId);
  const { ran, stopped } = await watchRun(coordinator, progress, undefined, () => coordinator.resume(o.runId, { agentId: 'qicoord-cli' }));
  if (stopped !== undefined) progress.notice(resumeHint(o.runId, o.journal));
  progress.stop();
  if (ran.tag === 'failure') {
    const code = reportFailure(ran, mode);
    return stopped === undefined ? code : SIGNAL_EXIT[stopped.signal];
  }
  const result = stopped === undefined ? ran.value : asInterrupted(ran.value, stopped.signal, stopped.at);
  if (mode.json) printJson(success(outputsOnce(result)));
  else process.stdout.write(formatSummary(result, result.aggregatedResult.subtasks.map((s) => s.id), { columns: process.stdout.isTTY ? process.stdout.columns : undefined, verbose: mode.verbose }));
  if (stopped !== undefined) return SIGNAL_EXIT[stopped.signal];
  return result.success ? EXIT.ok : EXIT.failed;
}

/**
 * `progress`, saying "resuming run X" when the run starts again: not before an unknown run id's
 * or a refused journal's error (and not for a finished run, which only prints its result).
 */
function announcingResume(progress: ProgressRenderer, runId: string): ProgressRenderer {
  let announced = false;
  return {
    onEvent(event) {
      if (!announced && event.type === 'run-start' && event.coordinationId === runId) {
        announced = true;
        progress.notice(`resuming run ${runId}`);
      }
      progress.onEvent(event);
    },
    notice: (text) => progress.notice(text),
    stop: () => progress.stop(),
  };
}
