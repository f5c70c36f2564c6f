import { success } from '@qi/base';
import type { CoordinatorEvent } from '../../events/types.js';
import type { StrategyFlags } from '../options.js';
import { openTask } from './open.js';
import { EXIT, exitCodeFor, printError, printJson, reportFailure, type CommandResult } from '../output.js';
import { LineRenderer, TtyRenderer, type ProgressRenderer } from '../progress/renderers.js';
import { formatSummary } from '../summary.js';
import { TraceRecorder } from '../trace.js';

export const runHelp = `Usage: qicoord run FILE [--strategy S] [--max-agents N] [--failure F] [--config C] [--json] [--trace OUT]

Distributes the task in FILE (JSON or YAML) and runs it on sandboxed SubAgents. Live progress
goes to stderr (a redrawing table on a terminal, one line per event otherwise); the summary,
or with --json exactly one JSON document (the Result), goes to stdout.

Options:
  --strategy S     sequential | parallel | hybrid | adaptive (overrides the file and config)
  --max-agents N   maxConcurrentAgents
  --failure F      fail-fast | graceful-degradation | retry-cascade
  --config C       config file (default: the first .qicoordrc found from FILE's folder up to
                   its project root, else the built-in defaults)
  --json           print the Result as JSON on stdout
  --trace OUT      write a Chrome trace-event file (Perfetto, chrome://tracing)

Ctrl-C cancels: agents are stopped and the partial result is printed (exit 130).
Exit codes: 0 success, 1 ran but failed, 2 invalid input or config, 3 environment.`;

export interface RunOptions extends StrategyFlags {
  readonly file: string;
  readonly config?: string | undefined;
  readonly json: boolean;
  readonly trace?: string | undefined;
}

function renderer(): ProgressRenderer {
  return process.stderr.isTTY ? new TtyRenderer(process.stderr) : new LineRenderer(process.stderr);
}

export async function runCommand(o: RunOptions): CommandResult {
  const opened = await openTask(o.file, o.config, o);
  if (opened.tag === 'failure') {
    return reportFailure(opened, o.json);
  }
  const { coordinator, strategy, loaded } = opened.value;
  const plan = await coordinator.distributeTask(loaded.validated, strategy, { agentId: 'qicoord-cli' });
  if (plan.tag === 'failure') {
    await coordinator.close();
    if (o.json) printJson(plan);
    else printError(plan.error);
    return plan.error.code === 'NOT_DISTRIBUTABLE' ? EXIT.invalid : exitCodeFor(plan.error);
  }

  const progress = renderer();
  const trace = o.trace === undefined ? undefined : new TraceRecorder();
  const events = coordinator.events();
  const pumping = (async () => {
    for await (const event of events as AsyncIterable<CoordinatorEvent>) {
      progress.onEvent(event);
      trace?.onEvent(event);
    }
  })();

  let interrupted = false;
  const onSigint = (): void => {
    if (interrupted) {
      process.stderr.write('\nsecond interrupt: stopping now\n');
      void coordinator.close().then(() => process.exit(EXIT.interrupted));
      return;
    }
    interrupted = true;
    process.stderr.write('\ninterrupted: stopping agents, keeping the partial result (Ctrl-C again to quit at once)\n');
    void coordinator.cancel('interrupted (SIGINT)');
  };
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigint);

  const run = await coordinator.executeDistributedTask(plan.value, { agentId: 'qicoord-cli' });
  await coordinator.close();
  await pumping;
  progress.stop();
  process.removeListener('SIGINT', onSigint);
  process.removeListener('SIGTERM', onSigint);
  if (trace !== undefined && o.trace !== undefined) trace.write(o.trace);

  if (run.tag === 'failure') {
    return reportFailure(run, o.json);
  }
  if (o.json) printJson(success(run.value));
  else {
    const consumed = new Set(plan.value.subtasks.flatMap((s) => s.inputs.map((i) => i.name)));
    const sinks = plan.value.subtasks.filter((s) => !s.expectedOutputs.some((out) => consumed.has(out.name))).map((s) => s.id);
    process.stdout.write(formatSummary(run.value, sinks));
  }
  if (interrupted) return EXIT.interrupted;
  return run.value.success ? EXIT.ok : EXIT.failed;
}
