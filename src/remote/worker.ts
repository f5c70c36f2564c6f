import { randomUUID } from 'node:crypto';
import os from 'node:os';
import type { QiError, Result } from '@qi/base';
import { failure, success } from '@qi/base';
import type { Job, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Config, ExecutorConfig } from '../config/schema.js';
import type { CoordinatorEvent } from '../events/types.js';
import { qiError } from '../errors/catalogue.js';
import { agentLogger } from '../logging/logger.js';
import type { PluginRegistry } from '../plugins/registry.js';
import { parseInput } from '../schemas/issues.js';
import { SubAgentSpecification } from '../schemas/spec.js';
import { localTransport } from '../subagent/local-transport.js';
import { ResourceMonitor } from '../subagent/monitor.js';
import { pluginFromFile } from '../subagent/plugin-source.js';
import type { AgentTransport } from '../subagent/transport.js';
import { builtinTools } from '../tools/broker.js';
import { replyAddress, verifyJob, type JobPayload } from './job.js';
import { beatKey, inboxKey } from './keys.js';
import { Heartbeat, PeerWatch } from './liveness.js';
import { PluginHashes } from './plugin-hash.js';
import { connectRedis, describeConnection, loadRemoteModules, redisOptions, within, type RemoteModules } from './redis.js';
import { RemoteSession } from './session.js';
import { WarmAgents, warmProfile } from './warm-agents.js';
import { StreamReader, StreamWriter } from './streams.js';
import type { Entry, Started, UpKind } from './wire.js';

export type BullmqExecutor = Extract<ExecutorConfig, { type: 'bullmq' }>;

export interface WorkerOptions {
  /** The worker's own configuration (plugins, sandbox, limits of this host). */
  readonly config: Config;
  readonly executor: BullmqExecutor;
  readonly secret: string;
  /** Sessions (agents) run at once. */
  readonly slots: number;
  readonly registry: PluginRegistry;
  readonly logger: Logger;
  /** Warm agents: ready agents kept per profile served and across profiles (size 0: none). */
  readonly warm: { readonly size: number; readonly maxTotal: number };
  /** One record per job, when it ends (the CLI prints it). */
  readonly onJob?: (record: JobRecord) => void;
  /** What its agents do, as a coordinator's events (the CLI's live table on a terminal). */
  readonly onEvent?: (event: CoordinatorEvent) => void;
}

/** What became of one job. */
export interface JobRecord {
  readonly session: string;
  readonly agentId: string;
  readonly plugin: string;
  readonly outcome: 'done' | 'given up' | 'refused';
  readonly subtasks: number;
  readonly ms: number;
  readonly error?: QiError;
}

interface Runtime {
  readonly commands: Redis;
  readonly writer: StreamWriter;
  readonly reader: StreamReader;
  readonly heartbeat: Heartbeat;
  readonly watch: PeerWatch;
  readonly worker: Worker;
}

/**
 * `qicoord worker`: takes agent sessions off the BullMQ queue and runs each agent in this host's
 * sandbox (DESIGN A13). A job is refused unless it is signed with the shared secret
 * (JOB_REJECTED) and names a plugin this worker has in the very same version (PLUGIN_MISMATCH);
 * the refusal is the coordinator's start failure. BullMQ's lock (lockDurationMs) with no stalled
 * retries keeps a dead worker's job from being run again behind the coordinator's back; the
 * coordinator notices the death by this worker's heartbeat key, and the worker stops the agents
 * of a coordinator whose heartbeat expired.
 */
export class RemoteWorker {
  readonly id = `w-${randomUUID()}`;
  private runtime: Runtime | undefined;
  private readonly sessions = new Map<string, { session: RemoteSession; coordinator: string; memoryMB: number }>();
  private readonly hashes = new PluginHashes();
  private readonly monitor: ResourceMonitor;
  private readonly transport: AgentTransport = localTransport();
  private readonly tools = builtinTools();
  private draining = false;
  private modules: RemoteModules | undefined;
  private readonly warm: WarmAgents;
  private warmStarted = 0;

  constructor(private readonly o: WorkerOptions) {
    this.monitor = new ResourceMonitor(o.config.monitor.pollIntervalMs, o.config.monitor.cpuWindowMs, o.logger, o.config.sandbox.maxWorkspaceEntries);
    this.warm = new WarmAgents({
      size: o.warm.size,
      maxTotal: o.warm.maxTotal,
      slots: o.slots,
      maxTotalMemoryMB: o.config.resources.maxTotalMemory,
      busy: () => {
        let memoryMB = 0;
        for (const s of this.sessions.values()) memoryMB += s.memoryMB;
        return { sessions: this.sessions.size, memoryMB };
      },
      quiet: () => !this.draining && ![...this.sessions.values()].some(({ session }) => session.stopping),
      start: (spec, plugin) => {
        // A warm agent is started before any job names it: it runs under the worker's own id for it.
        const agentId = `${this.id}.warm${++this.warmStarted}`;
        return this.transport.start({ agentId, spec, plugin, sandbox: o.config.sandbox, logLevel: o.config.logging.level, logger: agentLogger(o.logger, agentId, spec.agentType), timeoutMs: WARM_START_TIMEOUT_MS });
      },
      onReady: (profile, ready) => o.logger.info({ plugin: profile.plugin.path, ready }, `warm agent ready for plugin ${profile.spec.plugin ?? profile.spec.agentType} (${ready} ready)`),
    });
  }

  get activeSessions(): number {
    return this.sessions.size;
  }

  /** SIGKILLs every agent at once (a second Ctrl-C). */
  killAll(): void {
    for (const { session } of this.sessions.values()) session.kill();
    this.warm.killAll();
  }

  /** Connects and starts taking jobs. */
  async start(): Promise<Result<void, QiError>> {
    const { executor } = this.o;
    const modules = await loadRemoteModules();
    if (modules.tag === 'failure') return modules;
    this.modules = modules.value;
    const commands = await connectRedis(modules.value, executor.connection);
    if (commands.tag === 'failure') return commands;
    const blocking = await connectRedis(modules.value, executor.connection, { maxRetriesPerRequest: null });
    if (blocking.tag === 'failure') {
      commands.value.disconnect();
      return blocking;
    }
    const report = (e: Error): void => this.o.logger.warn({ err: e.message }, `Redis at ${describeConnection(executor.connection)}: ${e.message}`);
    const writer = new StreamWriter(commands.value, report);
    const reader = new StreamReader(blocking.value, commands.value, inboxKey(executor.queue, this.id), (entry) => this.onEntry(entry), report);
    const heartbeat = new Heartbeat(commands.value, beatKey(executor.queue, this.id), executor.lockDurationMs);
    const watch = new PeerWatch(commands.value, executor.lockDurationMs, (coordinator, why) => this.onCoordinatorLost(coordinator, why));
    const worker = new modules.value.bullmq.Worker(executor.queue, (job: Job, token?: string) => this.process(job, token), {
      connection: { ...redisOptions(executor.connection), maxRetriesPerRequest: null },
      concurrency: this.o.slots,
      lockDuration: executor.lockDurationMs,
      stalledInterval: executor.lockDurationMs,
      // A job whose worker died is not run again by BullMQ: the coordinator has already seen
      // the session lost and reruns the subtask itself, on a new session.
      maxStalledCount: 0,
      autorun: true,
    });
    worker.on('error', (e) => report(e));
    this.runtime = { commands: commands.value, writer, reader, heartbeat, watch, worker };
    return success(undefined);
  }

  /**
   * Drains: takes no new job, lets each running subtask finish, then gives its agent up (the
   * coordinator runs what comes next elsewhere), and disconnects.
   */
  async drain(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    const runtime = this.runtime;
    if (runtime === undefined) return;
    const closing = runtime.worker.close();
    const warmClosed = this.warm.close();
    for (const { session } of this.sessions.values()) session.drain();
    // The sessions end on their own time (a running subtask finishes); a job taken meanwhile is
    // drained as it starts.
    while (this.sessions.size > 0) await Promise.all([...this.sessions.values()].map(({ session }) => session.ended));
    // BullMQ's own close then only has to settle its bookkeeping; with Redis gone it is forced.
    const closed = await within(closing, 5000, 'closing the BullMQ worker');
    if (closed.tag === 'failure') await within(runtime.worker.close(true), 2000, 'forcing the BullMQ worker closed');
    await warmClosed;
    runtime.watch.stop();
    // Every step is bounded: with Redis gone, draining must not wait for it.
    await within(runtime.writer.drain(), 2000, 'flushing the streams');
    await runtime.heartbeat.stop();
    runtime.reader.close();
    await within(runtime.reader.done, 2000, 'stopping the reader');
    await within(runtime.commands.del(inboxKey(this.o.executor.queue, this.id)), 2000, 'DEL inbox');
    runtime.commands.disconnect();
    await this.monitor.stop();
    await this.transport.close();
  }

  private send(coordinator: string, session: string, kind: UpKind, data: string): void {
    this.runtime?.writer.add(inboxKey(this.o.executor.queue, coordinator), session, kind, data);
  }

  private onEntry(entry: Entry): void {
    // Entries of a session that is not (or no longer) here are dropped: the session id fences them.
    this.sessions.get(entry.session)?.session.onDown(entry.kind, entry.data);
  }

  private onCoordinatorLost(coordinator: string, why: string): void {
    for (const { session, coordinator: c } of this.sessions.values()) {
      if (c === coordinator) {
        this.o.logger.warn({ coordinator }, `coordinator ${coordinator} lost (${why}); stopping its agent`);
        session.abandon();
      }
    }
  }

  /** One job: verified, its agent started here, relayed until the agent ends. */
  private async process(job: Job, token: string | undefined): Promise<void> {
    if (this.draining && this.modules !== undefined) {
      // Taken just as the drain began: handed back to the queue at once, for another worker.
      await job.moveToDelayed(Date.now(), token);
      throw new this.modules.bullmq.DelayedError();
    }
    const started = Date.now();
    const record = (outcome: JobRecord['outcome'], payload: Partial<JobPayload>, subtasks: number, error?: QiError): void =>
      this.o.onJob?.({ session: String(job.id), agentId: payload.agentId ?? '?', plugin: payload.plugin?.name ?? '?', outcome, subtasks, ms: Date.now() - started, ...(error === undefined ? {} : { error }) });
    const accepted = this.accept(job.data);
    if (accepted.tag === 'failure') {
      const address = replyAddress(job.data);
      if (address !== undefined) this.send(address.coordinator, address.session, 'refused', JSON.stringify({ error: accepted.error }));
      record('refused', shownFields(job.data), 0, accepted.error);
      return;
    }
    const { payload, spec, pluginPath } = accepted.value;
    const memoryMB = spec.resourceLimits.maxMemoryMB;
    const refuse = (error: QiError): void => {
      this.send(payload.coordinator, payload.session, 'refused', JSON.stringify({ error }));
      record('refused', payload, 0, error);
    };
    const coordinatorAlive = await within(this.runtime!.commands.exists(beatKey(this.o.executor.queue, payload.coordinator)), 2000, 'EXISTS');
    if (coordinatorAlive.tag === 'success' && coordinatorAlive.value === 0) {
      record('refused', payload, 0, qiError('JOB_REJECTED', `coordinator ${payload.coordinator} is gone`, {}));
      return;
    }
    const plugin = pluginFromFile(pluginPath);
    if (plugin.tag === 'failure') return refuse(plugin.error);
    const logger = agentLogger(this.o.logger, payload.agentId, spec.agentType);
    const profile = warmProfile(spec, plugin.value, payload.plugin.sha256);
    const warm = this.draining ? undefined : this.warm.take(profile.key);
    const release = this.warm.claim(memoryMB);
    if (warm === undefined) this.warm.makeRoom();
    const connection =
      warm === undefined
        ? await this.transport.start({
            agentId: payload.agentId,
            spec,
            plugin: plugin.value,
            sandbox: this.o.config.sandbox,
            logLevel: this.o.config.logging.level,
            logger,
            timeoutMs: payload.timeoutMs,
          })
        : success(warm);
    release();
    if (connection.tag === 'failure') return refuse(connection.error);
    const session = new RemoteSession({
      session: payload.session,
      agentId: payload.agentId,
      spec,
      connection: connection.value,
      sandbox: this.o.config.sandbox,
      monitor: this.monitor,
      tools: this.tools,
      logger,
      send: (kind, data) => this.send(payload.coordinator, payload.session, kind, data),
      ...(this.o.onEvent === undefined ? {} : { onEvent: this.o.onEvent }),
    });
    this.sessions.set(payload.session, { session, coordinator: payload.coordinator, memoryMB });
    this.runtime?.watch.track(payload.coordinator, beatKey(this.o.executor.queue, payload.coordinator));
    const { boundary } = connection.value;
    // A session relays one subtask at a time: a reentrant plugin's concurrency stays on this side.
    const { concurrency: _oneAtATime, ...info } = connection.value.plugin;
    const ready: Started = {
      worker: this.id,
      host: os.hostname().slice(0, 255),
      plugin: { ...info, capabilities: [...info.capabilities] },
      boundary: { workspace: boundary.workspace, layers: [...boundary.layers], isolationLevel: boundary.isolationLevel, ...(boundary.downgradedFrom === undefined ? {} : { downgradedFrom: boundary.downgradedFrom }) },
      baselineMB: connection.value.baselineMB,
    };
    this.send(payload.coordinator, payload.session, 'started', JSON.stringify(ready));
    if (this.draining) session.drain();
    const end = await session.ended;
    this.sessions.delete(payload.session);
    this.runtime?.watch.untrack(payload.coordinator);
    // The next job of this profile finds an agent ready (within the slots and memory left).
    if (!this.draining) this.warm.refillLater(profile);
    record(end.reason === 'lost' || session.givenUp ? 'given up' : 'done', payload, session.subtasks);
  }

  /** The job's checks, in order: signature (and shape, expiry), then the plugin by name and content hash, then the specification. */
  private accept(data: unknown): Result<{ payload: JobPayload; spec: SubAgentSpecification; pluginPath: string }, QiError> {
    const verified = verifyJob(data, this.o.secret);
    if (verified.tag === 'failure') return verified;
    const payload = verified.value;
    const entry = this.o.registry.agent(payload.plugin.name);
    if (entry === undefined) {
      return failure(
        qiError('PLUGIN_MISMATCH', `worker ${os.hostname()} has no agent plugin '${payload.plugin.name}'; list it in the worker's config and restart the worker`, {
          plugin: payload.plugin.name,
          available: this.o.registry.listAgents().map((a) => a.name).slice(0, 50),
        }),
      );
    }
    const hash = this.hashes.of(entry.path);
    if (hash.tag === 'failure') return hash;
    if (hash.value !== payload.plugin.sha256) {
      return failure(
        qiError('PLUGIN_MISMATCH', `worker ${os.hostname()} holds agent plugin '${payload.plugin.name}' in another version (${entry.path}, sha256 ${hash.value.slice(0, 12)}…, the coordinator's is ${payload.plugin.sha256.slice(0, 12)}…); install the same file on both`, {
          plugin: payload.plugin.name,
          workerSha256: hash.value,
          coordinatorSha256: payload.plugin.sha256,
        }),
      );
    }
    const spec = parseInput(SubAgentSpecification, payload.spec, { code: 'INVALID_SPEC', what: 'SubAgent specification', root: 'spec' });
    if (spec.tag === 'failure') return spec;
    return success({ payload, spec: spec.value, pluginPath: entry.path });
  }
}

/** Start timeout of a warm agent (no job waits for it). */
const WARM_START_TIMEOUT_MS = 15_000;

/** The agent id and plugin name of a refused job, for its line on stderr: only when they are short plain names (the job is unverified). */
function shownFields(data: unknown): Partial<JobPayload> {
  const plain = (v: unknown): v is string => typeof v === 'string' && /^[\w.:@/-]{1,200}$/.test(v);
  const d = (typeof data === 'object' && data !== null ? data : {}) as Record<string, unknown>;
  const plugin = (typeof d['plugin'] === 'object' && d['plugin'] !== null ? d['plugin'] : {}) as Record<string, unknown>;
  return { ...(plain(d['agentId']) ? { agentId: d['agentId'] } : {}), ...(plain(plugin['name']) ? { plugin: { name: plugin['name'], sha256: '' } } : {}) };
}
