import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { QiError, Result } from '@qi/base';
import { failure, success } from '@qi/base';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import type { AgentContext } from '../context.js';
import type { TaskDistribution } from '../distribution/types.js';
import { qiError } from '../errors/catalogue.js';
import type { CoordinatorEvent } from '../events/types.js';
import { componentLogger, logPerformance } from '../logging/logger.js';
import type { PluginRegistry } from '../plugins/registry.js';
import type { ResourceManager } from '../resources/index.js';
import type { AgentEvent } from '../subagent/agent.js';
import type { SubAgentFactory } from '../subagent/factory.js';
import type { RunJournal } from '../journal/run-journal.js';
import { FinishedRuns } from './finished-runs.js';
import type { RunEvent } from './run-events.js';
import { CoordinationRun } from './run.js';
import type { CoordinationResult, ExecutionStatus } from './types.js';

export interface ExecutionDeps {
  readonly config: Config;
  readonly factory: SubAgentFactory;
  readonly resources: ResourceManager;
  readonly registry: PluginRegistry;
  readonly logger: Logger;
  readonly emit: (event: CoordinatorEvent) => void;
}

function looksLikeDistribution(d: unknown): d is TaskDistribution {
  if (typeof d !== 'object' || d === null) return false;
  const x = d as Partial<TaskDistribution>;
  return typeof x.distributionId === 'string' && Array.isArray(x.subtasks) && typeof x.specifications === 'object' && Array.isArray(x.agentAllocations) && typeof x.strategy === 'object';
}

/**
 * The spec's CoordinationExecutionEngine, made real: runs a distribution on SubAgent processes
 * (see {@link CoordinationRun}), keeps the runs in progress visible to `monitorExecution`, and
 * cancels them all on `cancelAll`. A run is released when it ends: its result goes to the
 * caller, and only its final status (six figures) stays, for the last thousand runs.
 */
export class CoordinationExecutionEngine {
  private readonly runs = new Map<string, CoordinationRun>();
  /**
   * The process is exiting (`process.exit`, as on the CLI's second Ctrl-C) while runs execute:
   * their journals' queued records are written first (synchronously; timers will not fire), so a
   * subtask the run saw succeed is not run again by a resume. Registered while a run executes.
   */
  private readonly exitHook = (): void => {
    for (const run of this.runs.values()) run.writeJournalNow();
  };
  /** The run each live agent belongs to: an agent's events reach their run by one lookup. */
  private readonly agentRuns = new Map<string, CoordinationRun>();
  /** Final statuses of ended runs, by coordination id. */
  private readonly finished = new FinishedRuns();
  private readonly log: Logger;

  constructor(private readonly deps: ExecutionDeps) {
    this.log = componentLogger(deps.logger, 'CoordinationExecutionEngine');
  }

  /**
   * Runs a distribution. With `durable.journal` every event of the run is appended to that
   * journal (its folder keeps the checkpoints too, and is left in place); with `durable.replay`
   * the run continues from the events of an earlier life (a resume).
   */
  async executeDistributedTask(
    distribution: TaskDistribution,
    context: AgentContext = {},
    durable: { readonly journal?: RunJournal; readonly replay?: readonly RunEvent[] } = {},
  ): Promise<Result<CoordinationResult, QiError>> {
    if (!looksLikeDistribution(distribution)) {
      return failure(qiError('INVALID_SPEC', 'executeDistributedTask needs a TaskDistribution returned by distributeTask', {}));
    }
    if (this.runs.get(distribution.distributionId)?.status === 'executing') {
      return failure(qiError('INVALID_SPEC', `distribution ${distribution.distributionId} is already executing`, { coordinationId: distribution.distributionId }));
    }
    const strategy = this.deps.registry.strategy(distribution.strategy.type);
    if (strategy === undefined) return failure(qiError('PLUGIN_INVALID', `no strategy plugin named '${distribution.strategy.type}'`, {}));
    const runDir = durable.journal?.dir ?? path.join(this.deps.config.sandbox.workspaceRoot, 'runs', distribution.distributionId);
    const started = performance.now();
    let run: CoordinationRun;
    const agents = {
      agentStarted: (agentId: string) => this.agentRuns.set(agentId, run),
      agentGone: (agentId: string) => this.agentRuns.delete(agentId),
    };
    try {
      run = new CoordinationRun(distribution, {
        ...this.deps,
        ...agents,
        strategy,
        context,
        runDir,
        logger: this.log.child({ coordinationId: distribution.distributionId }),
        ...(durable.journal === undefined ? {} : { journal: durable.journal }),
        ...(durable.replay === undefined ? {} : { replay: durable.replay }),
      });
    } catch (e) {
      return failure(qiError('INVALID_SPEC', `the distribution cannot be executed: ${e instanceof Error ? e.message : String(e)}`, {}));
    }
    // Only a run that can execute gets a directory (removed again when it ends).
    mkdirSync(runDir, { recursive: true, mode: 0o700 });
    this.runs.set(run.id, run);
    if (this.runs.size === 1) process.on('exit', this.exitHook);
    this.finished.delete(run.id);
    const result = await run.execute();
    this.release(run);
    durable.journal?.close();
    // A journaled run's folder is its journal's: it stays (checkpoints included) for a resume.
    if (durable.journal === undefined && !this.deps.config.sandbox.keepWorkspace) rmSync(runDir, { recursive: true, force: true });
    logPerformance(this.log, 'executeDistributedTask', performance.now() - started, result.success, {
      coordinationId: run.id,
      agents: result.metrics.totalAgents,
      subtasks: distribution.subtasks.length,
    });
    return success(result);
  }

  /** Live status of a run this engine started (spec: monitorExecution). */
  monitorExecution(coordinationId: string): Result<ExecutionStatus, QiError> {
    const run = this.runs.get(coordinationId);
    const ended = this.finished.get(coordinationId);
    if (ended !== undefined) return success(ended);
    if (run === undefined) return failure(qiError('NOT_FOUND', `coordination ${coordinationId} is unknown; use the distributionId of a task passed to executeDistributedTask`, { coordinationId }));
    return success(run.progress());
  }

  /** Forgets an ended run, keeping its final status. */
  private release(run: CoordinationRun): void {
    this.runs.delete(run.id);
    if (this.runs.size === 0) process.removeListener('exit', this.exitHook);
    this.finished.set(run.id, run.progress());
  }

  /** Routes an agent's event to the run that owns the agent. */
  onAgentEvent(event: AgentEvent): string | undefined {
    const run = this.agentRuns.get(event.agentId);
    run?.onAgentEvent(event);
    return run?.id;
  }

  /** Cancels one executing run, or one subtask of it with its delegated subtree (`subtaskId`). */
  cancel(coordinationId: string, subtaskId: string | undefined, reason: string): Result<void, QiError> {
    const run = this.runs.get(coordinationId);
    if (run === undefined || run.status !== 'executing') {
      return failure(qiError('NOT_FOUND', `coordination ${coordinationId} is not executing here`, { coordinationId }));
    }
    const error = qiError('CANCELLED', reason, { coordinationId, ...(subtaskId === undefined ? {} : { subtaskId }) });
    if (subtaskId === undefined) {
      run.cancel(error);
      return success(undefined);
    }
    const i = run.indexOf(subtaskId);
    if (i < 0) return failure(qiError('NOT_FOUND', `run ${coordinationId} has no subtask '${subtaskId}'`, { coordinationId, subtaskId }));
    run.cancelSubtask(i, error);
    return success(undefined);
  }

  /** Cancels every executing run (Ctrl-C, close()); resolves once each of them has ended. */
  async cancelAll(reason: string): Promise<void> {
    const executing = [...this.runs.values()].filter((run) => run.status === 'executing');
    for (const run of executing) run.cancel(qiError('CANCELLED', reason, {}));
    await Promise.all(executing.map((run) => run.ended));
  }
}
