import { randomUUID } from 'node:crypto';
import type { QiError, Result } from '@qi/base';
import { failure, success } from '@qi/base';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { qiError } from '../errors/catalogue.js';
import type { AgentConnection, AgentTransport, StartRequest } from '../subagent/transport.js';
import { RemoteConnection } from './connection.js';
import { JOB_TTL_MS, signJob } from './job.js';
import { beatKey, inboxKey } from './keys.js';
import { Heartbeat, PeerWatch } from './liveness.js';
import { PluginHashes } from './plugin-hash.js';
import { connectRedis, describeConnection, loadRemoteModules, redisOptions, unreachable, within } from './redis.js';
import { StreamReader, StreamWriter } from './streams.js';
import { Ended, parseControl, Refused, Started, type Entry } from './wire.js';

export interface BullmqTransportOptions {
  /** redis:// or rediss:// URL, or a Unix socket path. */
  readonly connection: string;
  readonly queue: string;
  /** The shared HMAC secret (the value, not the variable's name). */
  readonly secret: string;
  /** Silence after which a worker's sessions are lost (WORKER_LOST). */
  readonly lockDurationMs: number;
}

/** The plugin name a specification asks for: what a worker looks up in its own registry. */
function pluginName(request: StartRequest): string {
  return request.spec.plugin ?? request.spec.agentType;
}

interface Pending {
  readonly request: StartRequest;
  readonly startedAt: number;
  settle(r: Result<AgentConnection, QiError>): void;
}

/** What an initialised transport holds: connections, its inbox, heartbeat and watch. */
interface Runtime {
  readonly commands: Redis;
  readonly queue: Queue;
  readonly writer: StreamWriter;
  readonly reader: StreamReader;
  readonly heartbeat: Heartbeat;
  readonly watch: PeerWatch;
}

/**
 * Agents on `qicoord worker` processes, through BullMQ on Redis (DESIGN A13), coordinator side.
 * Each agent is one job (one session: the agent is leased for many subtasks); the job id is the
 * session id, which fences everything: entries of a session that has ended are dropped. The
 * worker's answers and the agent's messages arrive on this coordinator's inbox stream; parent
 * messages go to the worker's inbox. Liveness is by heartbeat keys, both ways: a worker silent
 * for `lockDurationMs` loses its sessions ('lost' → WORKER_LOST, which the failure strategy
 * reruns). BullMQ and ioredis are loaded on the first start only.
 */
export function bullmqTransport(options: BullmqTransportOptions): AgentTransport {
  return new BullmqTransport(options);
}

class BullmqTransport implements AgentTransport {
  readonly kind = 'bullmq';
  private readonly id = `c-${randomUUID()}`;
  private runtime: Promise<Result<Runtime, QiError>> | undefined;
  /** The runtime once connected (sends go straight to its writer). */
  private ready: Runtime | undefined;
  private readonly pending = new Map<string, Pending>();
  private readonly live = new Map<string, RemoteConnection>();
  private readonly hashes = new PluginHashes();
  private closed = false;

  constructor(private readonly o: BullmqTransportOptions) {}

  async start(request: StartRequest): Promise<Result<AgentConnection, QiError>> {
    if (this.closed) return failure(qiError('CANCELLED', 'the bullmq transport is closed'));
    const runtime = await this.init();
    if (runtime.tag === 'failure') return runtime;
    const hash = this.hashes.of(request.plugin.path);
    if (hash.tag === 'failure') return hash;
    const session = randomUUID();
    const job = signJob(
      {
        v: 1,
        session,
        coordinator: this.id,
        agentId: request.agentId,
        plugin: { name: pluginName(request), sha256: hash.value },
        spec: request.spec as unknown as Record<string, unknown>,
        timeoutMs: request.timeoutMs,
        expiresAt: Date.now() + JOB_TTL_MS,
      },
      this.o.secret,
    );
    const outcome = new Promise<Result<AgentConnection, QiError>>((settle) => this.pending.set(session, { request, startedAt: performance.now(), settle }));
    const added = await within(runtime.value.queue.add('agent', job, { jobId: session, removeOnComplete: true, removeOnFail: true, attempts: 1 }), request.timeoutMs, 'adding the job');
    if (added.tag === 'failure') {
      this.pending.delete(session);
      return failure(unreachable(this.o.connection, added.error.message));
    }
    const timer = setTimeout(() => void this.startTimedOut(session, request), request.timeoutMs);
    const result = await outcome;
    clearTimeout(timer);
    return result;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const [session, p] of this.pending) {
      this.pending.delete(session);
      p.settle(failure(qiError('CANCELLED', 'the bullmq transport was closed before the agent started', { agentId: p.request.agentId })));
    }
    for (const c of this.live.values()) c.lose('the coordinator closed its transport');
    const runtime = await this.runtime;
    if (runtime?.tag !== 'success') return;
    const { commands, queue, writer, reader, heartbeat, watch } = runtime.value;
    watch.stop();
    // Every step is bounded: with Redis gone, closing must not wait for it.
    await within(writer.drain(), 2000, 'flushing the streams');
    await heartbeat.stop();
    reader.close();
    await within(reader.done, 2000, 'stopping the reader');
    await within(commands.del(inboxKey(this.o.queue, this.id)), 2000, 'DEL inbox');
    await within(queue.close(), 2000, 'closing the queue');
    commands.disconnect();
  }

  private init(): Promise<Result<Runtime, QiError>> {
    this.runtime ??= this.connect().then((r) => {
      // A failed connection is tried again by the next start (Redis may come back).
      if (r.tag === 'failure') this.runtime = undefined;
      else this.ready = r.value;
      return r;
    });
    return this.runtime;
  }

  private async connect(): Promise<Result<Runtime, QiError>> {
    const modules = await loadRemoteModules();
    if (modules.tag === 'failure') return modules;
    const commands = await connectRedis(modules.value, this.o.connection);
    if (commands.tag === 'failure') return commands;
    const blocking = await connectRedis(modules.value, this.o.connection, { maxRetriesPerRequest: null });
    if (blocking.tag === 'failure') {
      commands.value.disconnect();
      return blocking;
    }
    // BullMQ's event stream is not read by qicoord (it carries no correctness): kept short.
    const queue = new modules.value.bullmq.Queue(this.o.queue, { connection: redisOptions(this.o.connection), streams: { events: { maxLen: 1000 } } });
    queue.on('error', () => undefined);
    const report = (e: Error): void => {
      for (const p of this.pending.values()) p.request.logger.warn({ err: e.message }, `Redis at ${describeConnection(this.o.connection)}: ${e.message}`);
    };
    const writer = new StreamWriter(commands.value, report);
    const reader = new StreamReader(blocking.value, commands.value, inboxKey(this.o.queue, this.id), (entry) => this.onEntry(entry), report);
    const heartbeat = new Heartbeat(commands.value, beatKey(this.o.queue, this.id), this.o.lockDurationMs);
    const watch = new PeerWatch(commands.value, this.o.lockDurationMs, (worker, why) => this.onWorkerLost(worker, why));
    return success({ commands: commands.value, queue, writer, reader, heartbeat, watch });
  }

  /** Nobody took the job in time: it is withdrawn (a worker that takes it later is told to stop). */
  private async startTimedOut(session: string, request: StartRequest): Promise<void> {
    const p = this.pending.get(session);
    if (p === undefined) return;
    this.pending.delete(session);
    const runtime = await this.runtime;
    if (runtime?.tag === 'success') await within(runtime.value.queue.remove(session), 2000, 'removing the job').catch(() => undefined);
    p.settle(
      failure(
        qiError('TIME_LIMIT', `no worker started agent ${request.agentId} within ${request.timeoutMs} ms; is a 'qicoord worker' running on queue '${this.o.queue}' at ${describeConnection(this.o.connection)}?`, {
          agentId: request.agentId,
          queue: this.o.queue,
        }),
      ),
    );
  }

  private send(worker: string, session: string, kind: string, data: string): void {
    this.ready?.writer.add(inboxKey(this.o.queue, worker), session, kind, data);
  }

  private onEntry(entry: Entry): void {
    const connection = this.live.get(entry.session);
    if (connection !== undefined) {
      if (entry.kind === 'm') connection.receive(entry.data);
      else if (entry.kind === 'usage') connection.receiveUsage(entry.data);
      else if (entry.kind === 'end') {
        const ended = parseControl(Ended, entry.data);
        if (ended === undefined) connection.lose('its worker sent a malformed end record');
        else connection.end(ended);
      }
      return;
    }
    const pending = this.pending.get(entry.session);
    if (pending === undefined) {
      // A session this coordinator no longer waits for (timed out, closed): its agent is stopped.
      const started = entry.kind === 'started' ? parseControl(Started, entry.data) : undefined;
      if (started !== undefined) this.send(started.worker, entry.session, 'stop', JSON.stringify({ reason: 'the coordinator no longer waits for this agent', graceMs: 0, immediate: true }));
      return;
    }
    if (entry.kind === 'refused') {
      this.pending.delete(entry.session);
      const refused = parseControl(Refused, entry.data);
      pending.settle(failure(refused === undefined ? qiError('JOB_REJECTED', `a worker refused agent ${pending.request.agentId} with a malformed answer`, {}) : (refused.error as QiError)));
    } else if (entry.kind === 'started') {
      const started = parseControl(Started, entry.data);
      if (started === undefined) return;
      this.pending.delete(entry.session);
      pending.settle(success(this.adopt(entry.session, started, pending)));
    }
  }

  private adopt(session: string, started: Started, pending: Pending): RemoteConnection {
    const { request } = pending;
    const connection = new RemoteConnection({
      agentId: request.agentId,
      session,
      started,
      startMs: performance.now() - pending.startedAt,
      limits: { maxMessageBytes: request.sandbox.maxMessageBytes, maxMessagesPerSecond: request.sandbox.maxMessagesPerSecond },
      maxOutputBytes: request.sandbox.maxOutputBytes,
      logger: request.logger,
      lockMs: this.o.lockDurationMs,
      send: (kind, data) => this.send(started.worker, session, kind, data),
      onEnded: () => {
        this.live.delete(session);
        this.ready?.watch.untrack(started.worker);
      },
    });
    this.live.set(session, connection);
    this.ready?.watch.track(started.worker, beatKey(this.o.queue, started.worker));
    return connection;
  }

  private onWorkerLost(worker: string, why: string): void {
    for (const c of [...this.live.values()]) if (c.worker === worker) c.lose(`worker ${worker}: ${why}`);
  }
}
