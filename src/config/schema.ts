import { z } from 'zod';
import { MAX_AGENT_CONCURRENCY } from '../protocol/constants.js';
import { AgentType, IsolationLevel, PositiveInt } from '../schemas/common.js';
import { ResourceLimits, SecurityConstraints } from '../schemas/resources.js';
import { CommunicationProtocol, FailureHandling, StrategyType } from '../schemas/strategy.js';

const LogLevel = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);

/** Redis connection: a `redis://` / `rediss://` URL or the absolute path of a Unix socket. */
const RedisConnection = z.string().regex(/^(rediss?:\/\/|\/)/, { error: "expected a redis:// or rediss:// URL, or an absolute Unix socket path" });

/** The executor: local sandboxed children (default), or BullMQ + Redis workers (DESIGN A13). */
export const Executor = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('local') }),
  z.strictObject({
    type: z.literal('bullmq'),
    connection: RedisConnection,
    /** The BullMQ queue coordinator and workers share. */
    queue: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, { error: 'expected 1-64 letters, digits, _ or -' }).default('qicoord'),
    /** Name of the environment variable holding the shared HMAC secret. */
    secretEnv: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: 'expected an environment variable name' }).default('QICOORD_JOB_SECRET'),
    /** How long a worker may be silent before its sessions are lost (WORKER_LOST). */
    lockDurationMs: z.int().min(500).max(600_000).default(5000),
  }),
]);
export type ExecutorConfig = z.output<typeof Executor>;

/**
 * The whole configuration, after the user's file is merged over `config/defaults`. Every object is
 * strict: an unknown key is an INVALID_CONFIG error naming its path.
 */
export const ConfigSchema = z.strictObject({
  /** Plugin modules: paths (relative to the config file) or package names. */
  plugins: z.array(z.string().min(1)),
  defaults: z.strictObject({
    agentType: AgentType,
    isolationLevel: IsolationLevel,
    strategy: z.strictObject({
      type: StrategyType,
      maxConcurrentAgents: PositiveInt,
      failureHandling: FailureHandling,
      communicationProtocol: CommunicationProtocol,
    }),
    resourceLimits: ResourceLimits,
    securityConstraints: SecurityConstraints,
  }),
  resources: z.strictObject({
    /** MB all agents may hold together, or "auto" (half of the machine's memory). */
    maxTotalMemory: z.union([z.number().positive(), z.literal('auto')]),
    maxConcurrentAllocations: PositiveInt,
    allowSharedResources: z.boolean(),
  }),
  sandbox: z.strictObject({
    /** Where per-agent workspaces are made; null → `<tmpdir>/qicoord`. */
    workspaceRoot: z.string().min(1).nullable(),
    /** Keep each agent's workspace after it ends (for debugging). */
    keepWorkspace: z.boolean(),
    /** Extra read grants for every agent (relative to the config file). */
    readPaths: z.array(z.string().min(1)),
    /** Extra write grants for every agent (relative to the config file). */
    writePaths: z.array(z.string().min(1)),
    /** OS network isolation for isolationLevel 'sandbox'. */
    networkIsolation: z.enum(['auto', 'bwrap', 'unshare', 'off']),
    /** When the isolation level needs an OS feature this host lacks: fail (SANDBOX_UNAVAILABLE) or run one level lower, recorded in the agent's events. */
    onUnavailable: z.enum(['fail', 'downgrade']),
    /** Node binary for agents; null → the coordinator's own. */
    nodePath: z.string().min(1).nullable(),
    /** Names of coordinator environment variables passed to agents (none by default). */
    passEnv: z.array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: 'expected an environment variable name' })),
    /** Variables set in every agent's environment. */
    env: z.record(z.string(), z.string()),
    /** Largest message an agent may send over its channel; a bigger one fails the agent (INVALID_MESSAGE). */
    maxMessageBytes: z.int().min(1024).max(1024 * 1024 * 1024),
    /** Messages per second an agent may send (bursts of twice that); more fails the agent (INVALID_MESSAGE). */
    maxMessagesPerSecond: z.int().min(10),
    /** Bytes of each agent's stdout and of its stderr forwarded to the log, and the byte budget of the log records it causes (ctx.log, audit, refused tool calls); the rest is counted and dropped. */
    maxOutputBytes: z.int().min(0),
    /** When the coordinator runs as root: the unprivileged uid/gid agents run as (null → 65534, `nobody`). */
    agentUid: z.int().min(1).max(4294967294).nullable(),
    agentGid: z.int().min(1).max(4294967294).nullable(),
    /** Grace between the cancel message, SIGTERM and SIGKILL when an agent is stopped. */
    killGraceMs: z.int().min(10).max(60000),
    /**
     * At most this many subtasks run at once in one agent process: a reentrant plugin's
     * `concurrency` is capped at it; 1: every agent runs one subtask at a time, whatever its
     * plugin declares.
     */
    maxSubtasksPerAgent: z.int().min(1).max(MAX_AGENT_CONCURRENCY),
    /**
     * Files and folders an agent's workspace may hold (enforcing levels): one holding more is over
     * its disk limit (DISK_LIMIT). The coordinator walks every watched workspace, synchronously.
     */
    maxWorkspaceEntries: z.int().min(100).max(10_000_000),
  }),
  monitor: z.strictObject({
    /** How often every live agent's memory and workspace size are read and judged, ms. */
    pollIntervalMs: z.int().min(10).max(10000),
    /** Window over which CPU percent is judged, ms (CPU is read four times per window). */
    cpuWindowMs: z.int().min(100).max(60000),
  }),
  logging: z.strictObject({
    level: LogLevel,
    /** Extra key names whose values are redacted in logs. */
    redact: z.array(z.string().min(1)),
  }),
  /** Durable runs: where run journals go (`dir`, relative to the config file; null → `.qicoord/runs` where `qicoord run` is started), or false: no journal. */
  journal: z.union([z.literal(false), z.strictObject({ dir: z.string().min(1).nullable() })]),
  /**
   * Agent plugin probes kept on disk (`file`, relative to the config file), so a new process
   * skips the sandboxed probe of a plugin file it has seen (keyed by its content); null: where the
   * coordinator is told (`qicoord` commands: `.qicoord/probes.json` in the working directory;
   * an embedded host: none unless it says); false: probed by every process.
   */
  probeCache: z.union([z.literal(false), z.strictObject({ file: z.string().min(1).max(4096).nullable() })]),
  /** `ctx.delegate`: how deep sub-agents may nest (a top-level subtask is depth 0) and how many a run may add in all (DELEGATION_LIMIT). */
  delegation: z.strictObject({
    maxDepth: z.int().min(0).max(32),
    maxSubtasks: z.int().min(0).max(100_000),
  }),
  /**
   * Short subtasks are sent to an agent ahead of time: up to `prefetch` beyond the one it runs,
   * while its subtasks average under 5 ms (they run one at a time, in order; 0 turns it off).
   */
  dispatch: z.strictObject({
    prefetch: z.int().min(0).max(64),
  }),
  /** Where agents run: this machine (local), or `qicoord worker` processes fed through BullMQ on Redis. */
  executor: Executor,
  pool: z.strictObject({
    enabled: z.boolean(),
    /** Ready agents kept per security profile. */
    size: z.int().min(0).max(64),
    /** Ready agents kept across all profiles together. */
    maxTotal: z.int().min(0).max(1024),
  }),
});

/** A configuration as written in a file: any subset of the keys. */
export type ConfigInput = DeepPartial<z.input<typeof ConfigSchema>>;
type Parsed = z.output<typeof ConfigSchema>;

/** The resolved configuration: defaults applied, "auto"/null resolved, paths absolute, frozen. */
export type Config = DeepReadonly<
  Omit<Parsed, 'resources' | 'sandbox'> & {
    resources: Omit<Parsed['resources'], 'maxTotalMemory'> & { maxTotalMemory: number };
    sandbox: Omit<Parsed['sandbox'], 'workspaceRoot' | 'nodePath'> & { workspaceRoot: string; nodePath: string };
    /** Where the config came from: the file, or null for the built-in defaults. */
    source: { filepath: string | null; dir: string };
  }
>;

export type DeepPartial<T> = T extends readonly (infer _U)[]
  ? T
  : T extends object
    ? { [K in keyof T]?: DeepPartial<T[K]> }
    : T;

export type DeepReadonly<T> = T extends (infer U)[]
  ? readonly DeepReadonly<U>[]
  : T extends object
    ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
    : T;
