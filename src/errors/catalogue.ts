import type { ErrorCategory, QiError } from '@qi/base';
import { create } from '@qi/base';

/** One entry of the error catalogue: the category a code belongs to, when it happens, and how to fix it. */
export interface CatalogueEntry {
  readonly category: ErrorCategory;
  readonly when: string;
  readonly fix: string;
}

/**
 * Every error code qicoord reports, with its category. The README's error table is checked
 * against this object by a test, so the two cannot drift apart.
 */
export const ERROR_CATALOGUE = {
  INVALID_TASK: {
    category: 'VALIDATION',
    when: 'a task file or DistributedTask is malformed, or its subtask DAG is broken (cycle, duplicate id, dangling input)',
    fix: 'correct every field listed in context.issues; `qicoord validate FILE` lists them all',
  },
  INVALID_SPEC: {
    category: 'VALIDATION',
    when: 'a SubAgentSpecification, strategy or resource request is malformed',
    fix: 'correct every field listed in context.issues',
  },
  INVALID_CONFIG: {
    category: 'CONFIGURATION',
    when: 'a .qicoordrc (or other config source) has an unknown key, a wrong type, or cannot be parsed',
    fix: 'correct the key paths listed in context.issues; near-misses carry a suggestion',
  },
  INVALID_MESSAGE: {
    category: 'VALIDATION',
    when: 'a SubAgent sent an IPC message that is malformed, oversized, nested deeper than 64 levels, over the rate cap, or names a subtask other than the one it runs',
    fix: 'the agent plugin must talk through ctx only; the agent is stopped and its subtask failed',
  },
  FILE_NOT_FOUND: {
    category: 'VALIDATION',
    when: 'a task file, config file or plugin path does not exist or cannot be read',
    fix: 'check the path (relative paths resolve against the current directory or the config file)',
  },
  MEMORY_LIMIT: {
    category: 'RESOURCE',
    when: "a SubAgent's memory (RSS, or its V8 heap) crossed resourceLimits.maxMemoryMB",
    fix: 'raise maxMemoryMB / executionConstraints.maxMemory, or make the plugin use less memory',
  },
  CPU_LIMIT: {
    category: 'RESOURCE',
    when: "a SubAgent's CPU use, averaged over monitor.cpuWindowMs, stayed above resourceLimits.maxCpuPercent",
    fix: 'raise maxCpuPercent or leave it out (no CPU cap), or make the plugin do less work',
  },
  DISK_LIMIT: {
    category: 'RESOURCE',
    when: "a SubAgent's workspace (or its private /tmp, or one file) grew past resourceLimits.maxDiskMB, or its workspace holds more files and folders than sandbox.maxWorkspaceEntries",
    fix: 'raise maxDiskMB (or sandbox.maxWorkspaceEntries), or make the plugin write less',
  },
  TOOL_BUDGET: {
    category: 'RESOURCE',
    when: 'a SubAgent used all of resourceLimits.maxToolCalls',
    fix: 'raise maxToolCalls or make fewer tool calls',
  },
  FILE_OP_BUDGET: {
    category: 'RESOURCE',
    when: 'a SubAgent used all of resourceLimits.maxFileOperations',
    fix: 'raise maxFileOperations or touch fewer files',
  },
  INSUFFICIENT_RESOURCES: {
    category: 'RESOURCE',
    when: 'a resource request cannot fit in the budget (resources.maxTotalMemory, maxConcurrentAllocations)',
    fix: 'request less, release earlier allocations, or raise the budget in .qicoordrc `resources`',
  },
  TIME_LIMIT: {
    category: 'TIMEOUT',
    when: 'a SubAgent ran past resourceLimits.maxExecutionTimeMs or its subtask past executionConstraints.maxDuration',
    fix: 'raise the limit, or split the subtask',
  },
  SYNC_TIMEOUT: {
    category: 'TIMEOUT',
    when: "a synchronization point with onTimeout: 'fail' was not satisfied within timeoutMs",
    fix: "raise timeoutMs, or use onTimeout 'proceed' to release with what arrived",
  },
  FS_DENIED: {
    category: 'AUTHORIZATION',
    when: 'a SubAgent touched the file system outside what its securityConstraints grant',
    fix: 'grant the path (sandbox.readPaths / writePaths, fileSystemAccess) or stop touching it',
  },
  NET_DENIED: {
    category: 'AUTHORIZATION',
    when: 'a SubAgent opened a network connection its networkAccessLevel / allowedNetworkHosts do not allow',
    fix: "allow the host in resourceLimits.allowedNetworkHosts with networkAccessLevel 'restricted', or use 'full'",
  },
  TOOL_DENIED: {
    category: 'AUTHORIZATION',
    when: 'a SubAgent called a tool not in allowedTools, or an operation in prohibitedOperations',
    fix: 'add the tool to securityConstraints.allowedTools (executionConstraints.allowedTools), or do without it',
  },
  INVALID_TOOL_ARGS: {
    category: 'VALIDATION',
    when: 'a tool was called with arguments that do not match its schema',
    fix: 'see context.issues; call the tool as the README documents it',
  },
  PROCESS_DENIED: {
    category: 'AUTHORIZATION',
    when: 'a SubAgent tried to start a process or worker its constraints do not allow',
    fix: "allow the 'execute' tool, or do the work in the plugin itself",
  },
  AGENT_ERROR: {
    category: 'BUSINESS',
    when: "the agent plugin's own code threw or rejected, or did not return a declared expected output",
    fix: 'see context.stack; fix the plugin',
  },
  AGENT_CRASHED: {
    category: 'SYSTEM',
    when: 'a SubAgent process exited unexpectedly',
    fix: 'see context.exitCode / context.signal and the forwarded stderr log records',
  },
  WORKER_LOST: {
    category: 'SYSTEM',
    when: 'the transport lost an agent mid-subtask (a remote worker or its connection went away)',
    fix: 'the failure strategy reruns the subtask (retryable); check the worker host',
  },
  PLUGIN_MISMATCH: {
    category: 'CONFIGURATION',
    when: 'a worker was sent a job for an agent plugin it does not have, or has in another version (content hash)',
    fix: "install the same plugin file on the worker and list it in the worker's config, then restart the worker",
  },
  JOB_REJECTED: {
    category: 'AUTHORIZATION',
    when: 'a worker refused a job whose HMAC signature is missing, wrong or expired, or whose data is malformed',
    fix: 'give coordinator and workers the same secret in the variable named by executor.secretEnv (default QICOORD_JOB_SECRET)',
  },
  SANDBOX_UNAVAILABLE: {
    category: 'SYSTEM',
    when: 'an isolation feature the isolation level needs is missing on this host',
    fix: 'run `qicoord doctor`; install it (e.g. bubblewrap), pick a lower isolationLevel, or set sandbox.onUnavailable',
  },
  NOT_DISTRIBUTABLE: {
    category: 'BUSINESS',
    when: 'the task is not suitable for distribution (not decomposable, or simple and not parallelizable, or too little benefit)',
    fix: 'mark the task decomposable/parallelizable, give it subtasks, or run it directly',
  },
  FETCH_FAILED: {
    category: 'NETWORK',
    when: "the fetch tool could not reach the server (connection refused, DNS failure, reset)",
    fix: 'check the URL and that the server is up; NETWORK errors are retried with backoff under retry-cascade',
  },
  PLUGIN_INVALID: {
    category: 'CONFIGURATION',
    when: 'a plugin failed to import, does not have the required shape, or its name is taken',
    fix: 'see context.path and context.issues; fix or rename the plugin',
  },
  NOT_FOUND: {
    category: 'VALIDATION',
    when: 'an agent, coordination, allocation, plugin or journaled run id is unknown',
    fix: 'use an id returned by qicoord (getActiveAgents, distributeTask, allocateResources; `qicoord runs` lists the journaled runs)',
  },
  CANCELLED: {
    category: 'SYSTEM',
    when: 'the run was cancelled (Ctrl-C, close(), or fail-fast after another failure)',
    fix: 'nothing to fix; the partial result is kept',
  },
  INVALID_JOURNAL: {
    category: 'VALIDATION',
    when: 'a run journal is damaged in its middle, from another qicoord version, or for a changed task or config (fingerprint mismatch)',
    fix: 'resume with the task and config the run started with, or start the run again (qicoord run)',
  },
  JOURNAL_UNAVAILABLE: {
    category: 'SYSTEM',
    when: 'a run journal or its folder cannot be read, written, locked or removed',
    fix: 'check the folder and free space, pass --journal DIR elsewhere, or --no-journal',
  },
  RUN_LOCKED: {
    category: 'CONCURRENCY',
    when: 'another live process is running or resuming the same run',
    fix: 'wait for it to end, or stop that process and resume again',
  },
  CHANNEL_DENIED: {
    category: 'AUTHORIZATION',
    when: "a subtask messaged along no channel the plan declares (the plan's communicationChannels connect lanes)",
    fix: 'add the dependency that makes the planner declare the channel, or pick a communicationProtocol whose channels connect the lanes (event-driven has a run-wide one)',
  },
  DELEGATION_DENIED: {
    category: 'AUTHORIZATION',
    when: "ctx.delegate asked for a sub-agent holding more than its parent (tools, network, file access, memory, CPU, budgets, isolation, or a deadline past the parent's remaining time); context.asked names it",
    fix: 'ask for at most what the parent holds (leave a constraint out to inherit it), or give the parent subtask more',
  },
  DELEGATION_LIMIT: {
    category: 'RESOURCE',
    when: 'ctx.delegate went past delegation.maxDepth (nesting) or delegation.maxSubtasks (delegated subtasks per run), or no agent can be admitted for a child while every running agent waits on children',
    fix: 'raise delegation.maxDepth / maxSubtasks (config or task), raise resources.maxTotalMemory, or delegate less at once',
  },
  SKIPPED: {
    category: 'BUSINESS',
    when: 'a subtask never ran: a subtask it depends on failed, was skipped or was cancelled (context.upstream names it)',
    fix: 'fix the upstream failure; its own error is on that subtask',
  },
  INTERNAL: {
    category: 'SYSTEM',
    when: 'an unexpected exception inside qicoord itself',
    fix: 'report it with context.stack',
  },
} as const satisfies Record<string, CatalogueEntry>;

/** A code from the catalogue. */
export type ErrorCode = keyof typeof ERROR_CATALOGUE;

/** Builds a QiError for a catalogue code; the category comes from the catalogue. */
export function qiError(code: ErrorCode, message: string, context: Record<string, unknown> = {}): QiError {
  return create(code, message, ERROR_CATALOGUE[code].category, context);
}

/** True when `e` is a QiError carrying the given catalogue code. */
export function hasCode(e: QiError | null | undefined, code: ErrorCode): boolean {
  return e?.code === code;
}
