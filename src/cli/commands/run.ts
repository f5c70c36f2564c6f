import path from 'node:path';
import type { QiError, Result } from '@qi/base';
import { success } from '@qi/base';
import type { MultiAgentCoordinator } from '../../coordinator/coordinator.js';
import type { CoordinatorEvent } from '../../events/types.js';
import type { CoordinationResult } from '../../execution/types.js';
import { detectHost } from '../../subagent/host.js';
import { asInterrupted, SIGNAL_EXIT, type StopSignal } from '../interrupt.js';
import { plannedDowngrades, type Downgrade } from '../isolation.js';
import type { StrategyFlags } from '../options.js';
import { distributeOpened, openTask } from './open.js';
import { EXIT, exitCodeFor, formatError, outputsOnce, printJson, reportFailure, type CommandResult, type OutputMode, type PrintedCoordinationResult } from '../output.js';
import { LineRenderer, TtyRenderer, type ProgressRenderer } from '../progress/renderers.js';
import { formatSummary } from '../summary.js';
import { checkTraceTarget, TraceRecorder } from '../trace.js';

export const runHelp = `Usage: qicoord run FILE [--strategy S] [--max-agents N] [--failure F] [--config C] [--json] [--trace OUT]
                    [--journal DIR | --no-journal] [--executor local|bullmq] [--connection URL]
                    [--verbose] [--log-format human|json]

Distributes the task in FILE (JSON or YAML) and runs it on sandboxed SubAgents. Live progress
goes to stderr (a redrawing table on a terminal, one line per event otherwise); the summary,
or with --json exactly one JSON document (the Result), goes to stdout.

Options:
  --strategy S       sequential | parallel | hybrid | adaptive (overrides the file and config)
  --max-agents N     maxConcurrentAgents
  --failure F        fail-fast | graceful-degradation | retry-cascade
  --config C         config file (default: the first .qicoordrc found from FILE's folder up to
                     its project root, else the built-in defaults)
  --json             print the Result as JSON on stdout
  --trace OUT        write a Chrome trace-event file (Perfetto, chrome://tracing); checked before
                     the run
  --verbose          print plugins' stacks with their errors
  --log-format F     human (default: one line per record on stderr) | json (pino JSON lines)
  --journal DIR      journal the run there (default: the config's journal.dir, else .qicoord/runs
                     in the current folder), so 'qicoord resume RUN_ID' can continue it
  --no-journal       do not journal the run
  --executor E       local (default: agents on this machine) | bullmq (agents on 'qicoord worker'
                     processes through Redis; the job secret in $QICOORD_JOB_SECRET or the
                     variable executor.secretEnv names)
  --connection URL   Redis for the bullmq executor: redis://host:port/db or /path/redis.sock
                     (implies --executor bullmq)

Ctrl-C cancels: agents are stopped, their subtasks reported cancelled and the partial result
printed (exit 130; SIGTERM: 143).
Exit codes: 0 success, 1 ran but failed, 2 invalid input or config, 3 environment,
130 interrupted (SIGINT), 143 terminated (SIGTERM).`;

export interface RunOptions extends StrategyFlags {
  readonly file: string;
  /** --journal DIR: where the run is journaled; --no-journal: not at all. */
  readonly journal?: string | undefined;
  readonly noJournal?: boolean;
  readonly config?: string | undefined;
  readonly trace?: string | undefined;
  /** --executor / --connection: where agents run, over the config's `executor`. */
  readonly executor?: string | undefined;
  readonly connection?: string | undefined;
  readonly mode: OutputMode;
}

function renderer(): ProgressRenderer {
  return process.stderr.isTTY ? new TtyRenderer(process.stderr) : new LineRenderer(process.stderr);
}

function warnDowngrades(downgrades: readonly Downgrade[], progress: ProgressRenderer): void {
  for (const d of downgrades) {
    progress.notice(`warning: ${d.lane} (${d.plugin}) runs at isolation '${d.isolationLevel}', not '${d.downgradedFrom}' (sandbox.onUnavailable: downgrade): ${d.reason}`);
  }
}

/**
 * The run's Result for --json: the CoordinationResult with each output value once (the other
 * places refer to it), plus the lanes that ran below their requested level.
 */
function jsonValue(result: CoordinationResult, downgrades: readonly Downgrade[]): PrintedCoordinationResult<CoordinationResult> & { downgrades?: readonly Downgrade[] } {
  const printed = outputsOnce(result);
  return downgrades.length === 0 ? printed : { ...printed, downgrades };
}

export async function runCommand(o: RunOptions): CommandResult {
  const { mode } = o;
  if (o.trace !== undefined) {
    const writable = checkTraceTarget(o.trace);
    if (writable.tag === 'failure') return reportFailure(writable, mode);
  }
  if (o.executor !== undefined && o.executor !== 'local' && o.executor !== 'bullmq') {
    process.stderr.write(`qicoord run: --executor must be local or bullmq, not '${o.executor}'\n`);
    return EXIT.invalid;
  }
  const executor = { type: o.executor as 'local' | 'bullmq' | undefined, connection: o.connection };
  const opened = await openTask(o.file, o.config, o, mode, { journal: o.noJournal === true ? false : o.journal === undefined ? {} : { dir: o.journal }, executor });
  if (opened.tag === 'failure') return reportFailure(opened, mode);
  const { coordinator, config } = opened.value;
  const plan = await distributeOpened(opened.value);
  if (plan.tag === 'failure') {
    await coordinator.close();
    return reportFailure(plan, mode);
  }

  const progress = renderer();
  const host = await detectHost(config.sandbox.nodePath);
  const downgrades = plannedDowngrades(config, host, plan.value.agentAllocations);
  warnDowngrades(downgrades, progress);
  const trace = o.trace === undefined ? undefined : new TraceRecorder();
  const journalDir = coordinator.journalDir(config);
  if (journalDir !== undefined) progress.notice(`run ${plan.value.distributionId} (journal ${path.join(journalDir, plan.value.distributionId)})`);
  const { ran, stopped } = await watchRun(coordinator, progress, trace, () => coordinator.executeDistributedTask(plan.value, { agentId: 'qicoord-cli' }));
  if (stopped !== undefined && journalDir !== undefined) progress.notice(resumeHint(plan.value.distributionId, o.journal));
  const traced = trace !== undefined && o.trace !== undefined ? trace.write(o.trace) : success(undefined);

  if (ran.tag === 'failure') {
    const code = reportFailure(ran, mode);
    return stopped === undefined ? code : SIGNAL_EXIT[stopped.signal];
  }
  const result = stopped === undefined ? ran.value : asInterrupted(ran.value, stopped.signal, stopped.at);
  if (mode.json) printJson(success(jsonValue(result, downgrades)));
  else {
    const consumed = new Set(plan.value.subtasks.flatMap((s) => s.inputs.map((i) => i.name)));
    const sinks = plan.value.subtasks.filter((s) => !s.expectedOutputs.some((out) => consumed.has(out.name))).map((s) => s.id);
    process.stdout.write(formatSummary(result, sinks, { columns: process.stdout.isTTY ? process.stdout.columns : undefined, verbose: mode.verbose }));
  }
  if (traced.tag === 'failure') process.stderr.write(formatError(traced.error, mode.verbose));
  if (stopped !== undefined) return SIGNAL_EXIT[stopped.signal];
  if (traced.tag === 'failure') return Math.max(exitCodeFor(traced.error), result.success ? EXIT.ok : EXIT.failed);
  return result.success ? EXIT.ok : EXIT.failed;
}

/** The command that continues an interrupted run, as the user should type it. */
export function resumeHint(runId: string, journal: string | undefined): string {
  return `resume it with: qicoord resume ${runId}${journal === undefined ? '' : ` --journal ${journal}`}`;
}

/**
 * Runs `start` with live progress and a trace, handling SIGINT/SIGTERM: the first cancels the run
 * (the partial result is kept), a second stops at once. Closes the coordinator afterwards.
 */
export async function watchRun(
  coordinator: MultiAgentCoordinator,
  progress: ProgressRenderer,
  trace: TraceRecorder | undefined,
  start: () => Promise<Result<CoordinationResult, QiError>>,
): Promise<{ ran: Result<CoordinationResult, QiError>; stopped: { signal: StopSignal; at: number } | undefined }> {
  const events = coordinator.events();
  const pumping = (async () => {
    for await (const event of events as AsyncIterable<CoordinatorEvent>) {
      progress.onEvent(event);
      trace?.onEvent(event);
    }
  })();

  let stopped: { signal: StopSignal; at: number } | undefined;
  const onSignal = (signal: StopSignal): void => {
    if (stopped !== undefined) {
      // At once: the exit hook SIGKILLs every agent synchronously (their workspaces may stay behind).
      progress.notice(`${signal} again: killing every agent now`);
      process.exit(SIGNAL_EXIT[stopped.signal]);
    }
    stopped = { signal, at: Date.now() };
    progress.notice(`interrupted (${signal}): cancelling — plugins see ctx.signal, agents stop within sandbox.killGraceMs; the partial result is kept (Ctrl-C again to kill at once)`);
    void coordinator.cancel(`interrupted (${signal})`);
  };
  const onSigint = (): void => onSignal('SIGINT');
  const onSigterm = (): void => onSignal('SIGTERM');
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigterm);

  const ran = await start();
  await coordinator.close();
  await pumping;
  progress.stop();
  process.removeListener('SIGINT', onSigint);
  process.removeListener('SIGTERM', onSigterm);
  return { ran, stopped };
}
