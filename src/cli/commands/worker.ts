import os from 'node:os';
import type { QiError, Result } from '@qi/base';
import { failure, success } from '@qi/base';
import type { CoordinatorEvent } from '../../events/types.js';
import { createCoordinator } from '../../coordinator/coordinator.js';
import { qiError } from '../../errors/catalogue.js';
import { createRootLogger } from '../../logging/logger.js';
import { jobSecret, resolveExecutor } from '../../remote/executor.js';
import type { JobRecord, RemoteWorker } from '../../remote/worker.js';
import { WorkerProgress } from '../../remote/worker-view.js';
import { TtyRenderer } from '../progress/renderers.js';
import { EXIT, logDestination, reportFailure, type CommandResult, type OutputMode } from '../output.js';

export const workerHelp = `Usage: qicoord worker [--connection URL] [--slots N] [--warm N] [--config C] [--log-format human|json]

Runs agents for coordinators on other machines (executor 'bullmq'): takes jobs off the BullMQ
queue on Redis and starts each agent here, in this machine's sandbox, with this machine's
plugins, limits and tool broker. A job must be signed with the shared secret (the variable
executor.secretEnv names, default QICOORD_JOB_SECRET) and name a plugin this worker's config
has in the very same version; otherwise it is refused (JOB_REJECTED / PLUGIN_MISMATCH).

Options:
  --connection URL   Redis: redis://host:port/db, rediss://…, or /path/redis.sock (default: the
                     config's executor.connection)
  --slots N          agents run at once (default: the number of CPUs)
  --warm N           ready agents kept per profile served, within the slots and the memory
                     budget (default: the config's pool.size, 2; 0: none; pool.enabled: false
                     turns them off too, pool.maxTotal caps them across profiles)
  --config C         config file (default: the first .qicoordrc found from the current folder)

On a terminal, stderr shows the same live table as 'run' (its agents, their subtasks, progress,
CPU, memory, tool calls) with a line per job above it; otherwise one line per job. SIGINT/SIGTERM drain: no new job, running subtasks finish, their
agents are handed back to their coordinators, then exit 0; a second signal stops at once.
Exit codes: 0 after a drain, 2 invalid config, 3 Redis unreachable.`;

export interface WorkerCommandOptions {
  readonly connection?: string | undefined;
  readonly slots?: string | undefined;
  readonly warm?: string | undefined;
  readonly config?: string | undefined;
  readonly mode: OutputMode;
}

function parseSlots(slots: string | undefined): Result<number, QiError> {
  if (slots === undefined) return success(Math.max(1, os.availableParallelism()));
  const n = /^\d+$/.test(slots) ? Number(slots) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > 1024) return failure(qiError('INVALID_CONFIG', `--slots must be an integer from 1 to 1024, not '${slots}'`, { key: 'slots' }));
  return success(n);
}

/** Ready agents per profile: --warm over the config's pool (off when the pool is disabled). */
function parseWarm(warm: string | undefined, pool: { enabled: boolean; size: number }): Result<number, QiError> {
  if (warm === undefined) return success(pool.enabled ? pool.size : 0);
  const n = /^\d+$/.test(warm) ? Number(warm) : NaN;
  if (!Number.isInteger(n) || n > 64) return failure(qiError('INVALID_CONFIG', `--warm must be an integer from 0 to 64, not '${warm}'`, { key: 'warm' }));
  return success(n);
}

function jobLine(r: JobRecord): string {
  const what = r.outcome === 'refused' ? `refused [${r.error?.code}] ${r.error?.message ?? ''}` : `${r.outcome}: ${r.subtasks} subtask${r.subtasks === 1 ? '' : 's'} in ${r.ms} ms`;
  return `job ${r.session} agent ${r.agentId} plugin ${r.plugin}: ${what}\n`;
}

/** Where the worker shows what it does: the live table on a terminal, plain lines otherwise. */
interface LiveView {
  line(text: string): void;
  readonly onEvent: ((event: CoordinatorEvent) => void) | undefined;
  stop(): void;
}

function liveView(out: NodeJS.WriteStream): LiveView {
  if (out.isTTY !== true) return { line: (text) => out.write(text), onEvent: undefined, stop: () => undefined };
  const progress = new WorkerProgress();
  const table = new TtyRenderer(out, 100, progress.model);
  let stopped = false;
  return {
    // A notice is written above the table, never drawn over.
    line: (text) => (stopped ? out.write(text) : table.notice(text.replace(/\n$/, ''))),
    onEvent: (event) => progress.apply(event, (e) => table.onEvent(e)),
    stop: () => {
      if (!stopped) table.stop();
      stopped = true;
    },
  };
}

export async function workerCommand(o: WorkerCommandOptions): CommandResult {
  const slots = parseSlots(o.slots);
  if (slots.tag === 'failure') return reportFailure(slots, o.mode);
  const destination = logDestination(o.mode);
  // The worker's plugins and sandbox come from its own config; its agents run locally.
  const created = await createCoordinator({
    cwd: process.cwd(),
    executor: { type: 'local' },
    ...(o.config === undefined ? {} : { configPath: o.config }),
    ...(destination === undefined ? {} : { logDestination: destination }),
  });
  if (created.tag === 'failure') return reportFailure(created, o.mode);
  const coordinator = created.value;
  const [config, registry] = [await coordinator.configuration(), await coordinator.plugins()];
  await coordinator.close();
  if (config.tag === 'failure') return reportFailure(config, o.mode);
  if (registry.tag === 'failure') return reportFailure(registry, o.mode);
  const executor = resolveExecutor(config.value.executor, { type: 'bullmq', connection: o.connection });
  if (executor.tag === 'failure') return reportFailure(executor, o.mode);
  if (executor.value.type !== 'bullmq') return EXIT.invalid;
  const warm = parseWarm(o.warm, config.value.pool);
  if (warm.tag === 'failure') return reportFailure(warm, o.mode);
  const secret = jobSecret(executor.value.secretEnv);
  if (secret.tag === 'failure') return reportFailure(secret, o.mode);
  const logger = createRootLogger({ level: config.value.logging.level, redact: config.value.logging.redact, ...(destination === undefined ? {} : { destination }) });

  // Loaded only here: a coordinator that runs locally never loads BullMQ.
  const { RemoteWorker } = await import('../../remote/worker.js');
  const view = liveView(process.stderr);
  const worker: RemoteWorker = new RemoteWorker({
    config: config.value,
    executor: executor.value,
    secret: secret.value,
    slots: slots.value,
    warm: { size: warm.value, maxTotal: config.value.pool.maxTotal },
    registry: registry.value,
    logger,
    onJob: (r) => view.line(jobLine(r)),
    ...(view.onEvent === undefined ? {} : { onEvent: view.onEvent }),
  });
  const started = await worker.start();
  if (started.tag === 'failure') {
    view.stop();
    return reportFailure(started, o.mode);
  }
  const plugins = registry.value.listAgents().map((a) => a.name);
  view.line(`qicoord worker ${worker.id}: queue '${executor.value.queue}', ${slots.value} slot${slots.value === 1 ? '' : 's'}, ${warm.value} warm agent${warm.value === 1 ? '' : 's'} per profile, plugins ${plugins.join(', ')}\n`);

  await new Promise<void>((resolve) => {
    let signalled = false;
    const onSignal = (signal: NodeJS.Signals): void => {
      if (signalled) {
        view.line(`${signal} again: stopping agents now\n`);
        view.stop();
        worker.killAll();
        process.exit(EXIT.failed);
      }
      signalled = true;
      view.line(`${signal}: draining (${worker.activeSessions} agent${worker.activeSessions === 1 ? '' : 's'} running)\n`);
      void worker.drain().then(resolve);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
  view.stop();
  process.stderr.write('drained\n');
  // Every agent is gone; a Redis client still retrying a connection (Redis away) must not keep
  // the process alive.
  setTimeout(() => process.exit(EXIT.ok), 1000).unref();
  return EXIT.ok;
}
