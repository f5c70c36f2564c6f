import type { AgentPluginContext, DirectMessage, PluginLogger, QueueHandle, QueuedMessage, SubtaskView } from '../src/plugin/types.js';
import { MAX_MESSAGE_DEPTH, exceedsDepth } from '../src/protocol/depth.js';
import type { ChildChannel } from './channel.js';
import { wireError } from './errors.js';
import { CallError, type Rpc } from './rpc.js';
import { Inbox } from './streams.js';

/** Progress messages are coalesced to at most one per this many ms per subtask. */
const PROGRESS_INTERVAL_MS = 50;

/** Per-agent message streams, fed by the coordinator's `deliver` messages. */
export interface Mailboxes {
  readonly direct: Inbox<DirectMessage>;
  readonly topics: Map<string, Set<Inbox<unknown>>>;
}

export function createMailboxes(): Mailboxes {
  return { direct: new Inbox<DirectMessage>(), topics: new Map() };
}

interface ContextDeps {
  readonly agentId: string;
  readonly workspace: string;
  readonly grants: { readonly read: readonly string[]; readonly write: readonly string[] };
  readonly subtask: SubtaskView;
  readonly inputs: Readonly<Record<string, unknown>>;
  readonly channel: ChildChannel;
  readonly rpc: Pick<Rpc, 'call'>;
  readonly mailboxes: Mailboxes;
  /** The subtask's abort signal, made on first use. */
  readonly signal: () => AbortSignal;
}

/** A subtask's `ctx` and how to end it. */
export interface SubtaskContext {
  readonly ctx: AgentPluginContext;
  /** The subtask ended: its latest pending progress report is sent, then its ctx sends nothing (logs and progress are dropped, calls reject with CANCELLED). */
  end(): void;
}

/**
 * The channel and calls of one subtask, closed when it ends. The coordinator fails an agent that
 * speaks for a subtask it is not running; a plugin's leftover timer, un-awaited call or progress
 * flush after its result must therefore stay here, not reach the channel.
 */
function scope(channel: ChildChannel, rpc: Pick<Rpc, 'call'>, subtaskId: string): { channel: ChildChannel; rpc: Pick<Rpc, 'call'>; end(): void } {
  let open = true;
  return {
    channel: {
      send: (message) => {
        if (open) channel.send(message);
      },
      onMessage: (handler) => channel.onMessage(handler),
    },
    rpc: {
      call: (body) => {
        if (!open) return Promise.reject(new CallError(wireError('CANCELLED', 'SYSTEM', `subtask '${subtaskId}' has ended: its ctx can no longer call the coordinator`, { subtaskId })));
        // The coordinator stops an agent whose message nests too deep; a plugin gets a catchable error instead.
        // (The body is the message without its brand and call id: the same depth.)
        if (exceedsDepth(body, MAX_MESSAGE_DEPTH)) {
          return Promise.reject(
            new CallError(wireError('INVALID_MESSAGE', 'VALIDATION', `subtask '${subtaskId}': a value passed to ctx nests too deep: a message may nest at most ${MAX_MESSAGE_DEPTH} levels of objects and arrays`, { subtaskId })),
          );
        }
        return rpc.call(body);
      },
    },
    end: () => {
      open = false;
    },
  };
}

function createLogger(channel: ChildChannel, subtaskId: string): PluginLogger {
  const emit =
    (level: 'trace' | 'debug' | 'info' | 'warn' | 'error') =>
    (obj: unknown, msg?: string): void => {
      const isText = typeof obj === 'string';
      const raw = !isText && typeof obj === 'object' && obj !== null ? { ...(obj as Record<string, unknown>) } : undefined;
      // Data nested past the coordinator's cap would get the agent stopped: it is dropped here instead.
      const tooDeep = raw !== undefined && exceedsDepth(raw, MAX_MESSAGE_DEPTH - 1);
      const data = tooDeep ? { dropped: `data nested deeper than ${MAX_MESSAGE_DEPTH - 1} levels` } : raw;
      const text = isText ? obj : (msg ?? (data === undefined ? String(obj) : ''));
      try {
        channel.send({ type: 'log', level, msg: text.slice(0, 65_536), subtaskId, ...(data === undefined ? {} : { data }) });
      } catch {
        channel.send({ type: 'log', level, msg: `${text.slice(0, 65_536)} (unserializable data dropped)`, subtaskId });
      }
    };
  return { trace: emit('trace'), debug: emit('debug'), info: emit('info'), warn: emit('warn'), error: emit('error') };
}

/** `ctx.progress`, coalesced; `flush` sends the latest pending report (the subtask is ending: its last report is not dropped). */
function createProgress(channel: ChildChannel, subtaskId: string): { report: (fraction: number, note?: string) => void; flush: () => void } {
  let last = 0;
  let timer: NodeJS.Timeout | undefined;
  let latest: { fraction: number; note?: string } | undefined;
  const flush = (): void => {
    clearTimeout(timer);
    timer = undefined;
    if (latest === undefined) return;
    last = Date.now();
    channel.send({ type: 'progress', subtaskId, fraction: latest.fraction, ...(latest.note === undefined ? {} : { note: latest.note.slice(0, 1000) }) });
    latest = undefined;
  };
  const report = (fraction: number, note?: string): void => {
    const f = Number.isFinite(fraction) ? Math.min(1, Math.max(0, fraction)) : 0;
    latest = note === undefined ? { fraction: f } : { fraction: f, note: String(note) };
    const wait = PROGRESS_INTERVAL_MS - (Date.now() - last);
    if (wait <= 0) flush();
    else timer ??= setTimeout(flush, wait);
  };
  return { report, flush };
}

function createQueue<T>(rpc: Pick<Rpc, 'call'>, subtaskId: string, name: string): QueueHandle<T> {
  return {
    async push(body) {
      await rpc.call({ type: 'channel', subtaskId, op: 'queue-push', target: name, body });
    },
    async pull(timeoutMs) {
      const item = (await rpc.call({
        type: 'channel',
        subtaskId,
        op: 'queue-pull',
        target: name,
        ...(timeoutMs === undefined ? {} : { timeoutMs }),
      })) as { id: string; body: T } | null;
      if (item === null || item === undefined) return undefined;
      const message: QueuedMessage<T> = {
        id: item.id,
        body: item.body,
        ack: async () => {
          await rpc.call({ type: 'channel', subtaskId, op: 'queue-ack', target: name, body: item.id });
        },
      };
      return message;
    },
  };
}

/** Builds the `ctx` an agent plugin's execute receives; everything crosses to the coordinator, until `end()`. */
export function createContext(deps: ContextDeps): SubtaskContext {
  const { subtask, mailboxes } = deps;
  const subtaskId = subtask.id;
  const scoped = scope(deps.channel, deps.rpc, subtaskId);
  const { rpc } = scoped;
  // The progress coalescer is made on first use: most subtasks report none.
  let progress: ReturnType<typeof createProgress> | undefined;
  const channelCall = (op: 'send' | 'publish' | 'subscribe' | 'restore', target?: string, body?: unknown): Promise<unknown> =>
    rpc.call({ type: 'channel', subtaskId, op, ...(target === undefined ? {} : { target }), ...(body === undefined ? {} : { body }) });
  const ctx: Omit<AgentPluginContext, 'signal'> = {
    inputs: deps.inputs,
    agentId: deps.agentId,
    workspace: deps.workspace,
    grants: deps.grants,
    log: createLogger(scoped.channel, subtaskId),
    progress: (fraction, note) => (progress ??= createProgress(scoped.channel, subtaskId)).report(fraction, note),
    tools: {
      call: async <T>(name: string, args: Record<string, unknown> = {}) =>
        (await rpc.call({ type: 'tool-call', subtaskId, name, args })) as T,
    },
    sync: async <T>(pointId: string, value?: unknown) =>
      (await rpc.call({ type: 'sync-arrive', subtaskId, pointId, ...(value === undefined ? {} : { value }) })) as T,
    send: async (to, message) => {
      await channelCall('send', to, message);
    },
    publish: async (topic, message) => {
      await channelCall('publish', topic, message);
    },
    subscribe<T>(topic: string): AsyncIterable<T> {
      const inbox = new Inbox<unknown>();
      const subscribers = mailboxes.topics.get(topic) ?? new Set();
      subscribers.add(inbox);
      mailboxes.topics.set(topic, subscribers);
      void channelCall('subscribe', topic);
      return inbox as AsyncIterable<T>;
    },
    messages<T>(): AsyncIterable<DirectMessage<T>> {
      return mailboxes.direct.reader() as AsyncIterable<DirectMessage<T>>;
    },
    queue: <T>(name: string) => createQueue<T>(rpc, subtaskId, name),
    restore: async <T>() => ((await channelCall('restore')) ?? undefined) as T | undefined,
    delegate: (async (request: unknown) => {
      const many = Array.isArray(request);
      const requests = many ? [...(request as unknown[])] : [request];
      // The run checks every field; here only what makes a message (plain objects) is asked for.
      if (requests.length === 0 || !requests.every((r) => typeof r === 'object' && r !== null && !Array.isArray(r))) {
        throw new CallError(wireError('INVALID_TASK', 'VALIDATION', `subtask '${subtaskId}': ctx.delegate takes a request object or a non-empty array of them`, { subtaskId }));
      }
      const outputs = (await rpc.call({ type: 'delegate', subtaskId, requests: requests as Record<string, unknown>[] })) as unknown[];
      return many ? outputs : outputs[0];
    }) as AgentPluginContext['delegate'],
  };
  // `signal` is made on first read (most plugins never read it), through an accessor defined
  // after the object: an accessor written in the object literal makes every ctx ~10× slower to build.
  Object.defineProperty(ctx, 'signal', { get: deps.signal, enumerable: true });
  return {
    ctx: ctx as AgentPluginContext,
    end: () => {
      progress?.flush();
      scoped.end();
    },
  };
}
