import type { AgentPlugin } from '../src/plugin/types.js';
import { MAX_AGENT_CONCURRENCY } from '../src/protocol/constants.js';
import { MAX_MESSAGE_DEPTH, exceedsDepth } from '../src/protocol/depth.js';
import type { NetGuardPolicy, ParentMessage } from '../src/protocol/messages.js';
import type { ChildChannel } from './channel.js';
import { createContext, createMailboxes } from './context.js';
import { toWireError, wireError } from './errors.js';
import type { NetEvent } from './net-guard.js';
import { Rpc } from './rpc.js';

type Init = Extract<ParentMessage, { type: 'init' }>;
type Execute = Extract<ParentMessage, { type: 'execute' }>;

/** What the agent runtime is given: its channel and the few process-level acts it performs. */
export interface RuntimeDeps {
  readonly channel: ChildChannel;
  /** Ends the agent (shutdown, or a fatal error). */
  exit(code: number): void;
  /** Installs the network guard before the plugin is loaded. */
  installNetGuard(policy: NetGuardPolicy, report: (event: NetEvent) => void): void;
  /** Loads the plugin module (the module itself, or its namespace). */
  loadPlugin(file: string): Promise<unknown>;
}

/** The child side of one agent, driven by the coordinator's messages. */
export interface AgentRuntime {
  /**
   * Says hello: the runtime is up and waits for `init`. `residentMB`: this process's resident
   * memory now, before any plugin code (a process of its own; not given in-process).
   */
  start(pid: number, node: string, residentMB?: number): void;
  onMessage(message: ParentMessage): void;
  /** An error escaped plugin code (uncaught exception, unhandled rejection): report it for the running subtask. */
  reportFatal(e: unknown): void;
}

const AGENT_TYPES = new Set(['basic', 'decision-capable', 'specialized']);
/** Subtasks an agent holds beyond the one it runs (the coordinator sends at most `dispatch.prefetch`, ≤ 64). */
const MAX_QUEUED = 256;
/** Deepest outputs object the coordinator takes: its per-message cap minus the result message around it. */
const MAX_OUTPUT_DEPTH = MAX_MESSAGE_DEPTH - 1;

function checkPlugin(mod: unknown): AgentPlugin | string {
  const candidate = (typeof mod === 'object' && mod !== null && 'default' in mod ? (mod as { default: unknown }).default : mod) as Record<string, unknown>;
  if (typeof candidate !== 'object' || candidate === null) return 'the module has no default export object';
  const problems: string[] = [];
  if (typeof candidate['name'] !== 'string' || candidate['name'] === '') problems.push('name must be a non-empty string');
  if (typeof candidate['type'] !== 'string' || !AGENT_TYPES.has(candidate['type'])) problems.push("type must be 'basic', 'decision-capable' or 'specialized'");
  const caps = candidate['capabilities'];
  if (!Array.isArray(caps) || !caps.every((c) => typeof c === 'string')) problems.push('capabilities must be an array of strings');
  if (typeof candidate['execute'] !== 'function') problems.push('execute must be a function');
  const concurrency = candidate['concurrency'];
  if (concurrency !== undefined && !(Number.isInteger(concurrency) && (concurrency as number) >= 1 && (concurrency as number) <= MAX_AGENT_CONCURRENCY)) {
    problems.push(`concurrency must be an integer from 1 to ${MAX_AGENT_CONCURRENCY}`);
  }
  return problems.length > 0 ? problems.join('; ') : (candidate as unknown as AgentPlugin);
}

function pluginKind(mod: unknown): string | undefined {
  const candidate = typeof mod === 'object' && mod !== null && 'default' in mod ? (mod as { default: unknown }).default : mod;
  const kind = typeof candidate === 'object' && candidate !== null ? (candidate as { kind?: unknown }).kind : undefined;
  return kind === 'strategy' || kind === 'tool' ? kind : undefined;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * The agent's side of the protocol: `init` loads and checks the plugin (after the network guard
 * is in), `execute` runs one subtask with its `ctx`, replies settle calls, deliveries feed the
 * mailboxes, `shutdown` exits. The sandbox bootstrap runs it on fd 3 inside the OS boundary;
 * qicoord/testing runs it in-process over an in-memory pipe.
 */
/** A subtask running; its AbortController is made when the plugin first reads `ctx.signal` (most never do). */
interface Running {
  readonly subtaskId: string;
  abort?: AbortController;
  /** The coordinator's cancel, kept for a signal made after it. */
  cancelled?: Error;
}

export function createAgentRuntime(deps: RuntimeDeps): AgentRuntime {
  const { channel } = deps;
  const rpc = new Rpc(channel);
  const mailboxes = createMailboxes();
  let plugin: AgentPlugin | undefined;
  let agent: { agentId: string; workspace: string; grants: { read: string[]; write: string[] } } | undefined;
  /** The subtasks running now: one, or up to the plugin's `concurrency` for a reentrant plugin. */
  const running = new Map<string, Running>();
  let slots = 1;
  const queue: Execute[] = [];
  // The coordinator sends `init` without waiting for `hello`; where it can arrive first (the
  // in-memory pipe) it is held until the runtime has said hello, so hello is always first.
  let started = false;
  let early: Init | undefined;

  async function init(message: Init): Promise<void> {
    deps.installNetGuard(message.netGuard, (event) => channel.send({ type: 'audit', kind: 'net', action: event.action, detail: { ...event } }));
    agent = { agentId: message.agentId, workspace: message.workspace, grants: message.grants };
    let mod: unknown;
    try {
      mod = await deps.loadPlugin(message.pluginPath);
    } catch (e) {
      const reason = e instanceof Error ? e.message : String(e);
      channel.send({
        type: 'init-failed',
        error: wireError('PLUGIN_INVALID', 'CONFIGURATION', `agent plugin ${message.pluginPath} failed to load: ${reason}`, {
          path: message.pluginPath,
          stack: e instanceof Error ? e.stack : undefined,
        }),
      });
      return;
    }
    const kind = pluginKind(mod);
    if (kind !== undefined) {
      // A strategy or tool plugin: it runs in the coordinator, not in an agent.
      channel.send({
        type: 'init-failed',
        error: wireError('PLUGIN_KIND', 'CONFIGURATION', `${message.pluginPath} is a ${kind} plugin, not an agent plugin`, { path: message.pluginPath, kind }),
      });
      return;
    }
    const checked = checkPlugin(mod);
    if (typeof checked === 'string') {
      channel.send({
        type: 'init-failed',
        error: wireError('PLUGIN_INVALID', 'CONFIGURATION', `agent plugin ${message.pluginPath} is not valid: ${checked}`, { path: message.pluginPath }),
      });
      return;
    }
    plugin = checked;
    // The plugin's own concurrency, within what the coordinator allows an agent (sandbox.maxSubtasksPerAgent).
    slots = Math.min(plugin.concurrency ?? 1, message.maxConcurrency ?? MAX_AGENT_CONCURRENCY);
    const description = typeof plugin.description === 'string' ? { description: plugin.description.slice(0, 65_536) } : {};
    const reentrant = slots > 1 ? { concurrency: slots } : {};
    channel.send({ type: 'ready', plugin: { name: plugin.name, type: plugin.type, capabilities: [...plugin.capabilities], ...description, ...reentrant } });
  }

  /**
   * A subtask sent while the agent's slots are taken waits here (the coordinator sends the next
   * ones ahead, so the agent never idles between short subtasks); they run in the order sent, one
   * at a time — or, for a reentrant plugin, as many at once as its `concurrency`.
   */
  function enqueue(message: Execute): void {
    const subtaskId = message.subtask.id;
    if (plugin === undefined || agent === undefined || queue.length >= MAX_QUEUED) {
      channel.send({ type: 'error', subtaskId, error: wireError('INTERNAL', 'SYSTEM', `agent is not ready for subtask '${subtaskId}'`) });
      return;
    }
    if (running.size < slots) void execute(message);
    else queue.push(message);
  }

  /** A queued subtask taken back by the coordinator before it started: dropped, and the coordinator told. */
  function unqueue(subtaskId: string): boolean {
    const at = queue.findIndex((m) => m.subtask.id === subtaskId);
    if (at < 0) return false;
    queue.splice(at, 1);
    channel.send({ type: 'unqueued', subtaskId });
    return true;
  }

  async function execute(message: Execute): Promise<void> {
    const subtaskId = message.subtask.id;
    if (plugin === undefined || agent === undefined) return;
    const current: Running = { subtaskId };
    running.set(subtaskId, current);
    const signal = (): AbortSignal => {
      if (current.abort === undefined) {
        current.abort = new AbortController();
        if (current.cancelled !== undefined) current.abort.abort(current.cancelled);
      }
      return current.abort.signal;
    };
    // Fields named one by one: spreading `agent` here cost ~5 µs a subtask (V8's slow clone path);
    // the inputs are frozen in place (the message was parsed from the channel for this call alone).
    const { agentId, workspace, grants } = agent;
    const scoped = createContext({ agentId, workspace, grants, subtask: message.subtask, inputs: Object.freeze(message.inputs), channel, rpc, mailboxes, signal });
    try {
      const outputs: unknown = await plugin.execute(message.subtask, scoped.ctx);
      if (!isPlainObject(outputs)) {
        throw new TypeError(`execute must return an object of outputs keyed by expectedOutputs names, got ${Array.isArray(outputs) ? 'an array' : typeof outputs}`);
      }
      if (exceedsDepth(outputs, MAX_OUTPUT_DEPTH)) {
        throw new TypeError(`execute returned outputs nested deeper than ${MAX_OUTPUT_DEPTH} levels of objects and arrays (each output value at most ${MAX_OUTPUT_DEPTH - 1}); the coordinator accepts at most ${MAX_MESSAGE_DEPTH} per message`);
      }
      scoped.end();
      // With more queued, the result may wait for the end of the turn: the next ones' results go with it.
      channel.send({ type: 'result', subtaskId, outputs }, queue.length > 0);
    } catch (e) {
      scoped.end();
      channel.send({ type: 'error', subtaskId, error: toWireError(e, subtaskId) }, queue.length > 0);
    } finally {
      running.delete(subtaskId);
      const next = queue.shift();
      if (next !== undefined) void execute(next);
    }
  }

  return {
    start(pid, node, residentMB) {
      channel.send({ type: 'hello', pid, node, ...(residentMB === undefined ? {} : { residentMB }) });
      started = true;
      if (early !== undefined) void init(early);
      early = undefined;
    },
    onMessage(message) {
      switch (message.type) {
        case 'init':
          if (started) void init(message);
          else early = message;
          return;
        case 'execute':
          enqueue(message);
          return;
        case 'cancel': {
          const target = running.get(message.subtaskId);
          if (target !== undefined) {
            target.cancelled ??= new Error(message.reason);
            target.abort?.abort(target.cancelled);
          } else unqueue(message.subtaskId);
          return;
        }
        case 'unqueue':
          unqueue(message.subtaskId);
          return;
        case 'tool-result':
        case 'sync-release':
        case 'channel-reply':
        case 'delegate-result':
          rpc.settle(message);
          return;
        case 'deliver':
          if (message.stream === 'direct') mailboxes.direct.push({ from: message.from, body: message.body });
          else for (const inbox of mailboxes.topics.get(message.topic ?? '') ?? []) inbox.push(message.body);
          return;
        case 'shutdown':
          deps.exit(0);
      }
    },
    reportFatal(e) {
      // Which of several running subtasks threw cannot be told: each of them reports it.
      for (const { subtaskId } of running.values()) channel.send({ type: 'error', subtaskId, error: toWireError(e, subtaskId) });
    },
  };
}
