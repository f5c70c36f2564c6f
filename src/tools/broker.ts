import type { QiError, Result } from '@qi/base';
import { failure } from '@qi/base';
import { qiError } from '../errors/catalogue.js';
import type { Logger } from '../logging/logger.js';
import { safeStringify } from '../util/safe-json.js';
import { admitCall } from './admit.js';
import { checkHost } from './hosts.js';
import { checkReadPath, checkWritePath, confirmOpened } from './paths.js';
import { Semaphore } from './semaphore.js';
import type { ToolContext, ToolDefinition, ToolPolicy, ToolUsage } from './types.js';

const NEVER_ABORTED = new AbortController().signal;
/** Arguments longer than this (as JSON) are logged by size only: an agent controls them. */
const MAX_LOGGED_ARGS_BYTES = 1024;

function argsForLog(args: unknown): { args: unknown } | { argsBytes: number } {
  const json = safeStringify(args);
  return json.length <= MAX_LOGGED_ARGS_BYTES ? { args } : { argsBytes: Buffer.byteLength(json, 'utf8') };
}

/** Resolves with `cancelled()` as soon as `signal` aborts, else with `work`'s result. */
function raceAbort<T>(work: Promise<T>, signal: AbortSignal, cancelled: () => T): Promise<T> {
  if (signal.aborted) return Promise.resolve(cancelled());
  return new Promise((resolve) => {
    const onAbort = (): void => resolve(cancelled());
    signal.addEventListener('abort', onAbort, { once: true });
    void work.then((value) => {
      signal.removeEventListener('abort', onAbort);
      resolve(value);
    });
  });
}

/**
 * The coordinator-side tool broker of one agent: every tool call of the agent goes through
 * {@link ToolBroker.call}, which checks the policy (tool known, allowed, not prohibited, valid
 * arguments, budgets left), counts the call, and runs it with at most maxConcurrentOperations
 * runs in flight. Denied calls do not spend budget; they are counted in `deniedCalls`.
 */
export class ToolBroker {
  private readonly counters: ToolUsage = { toolCalls: 0, fileOperations: 0, networkRequests: 0, deniedCalls: 0 };
  private readonly semaphore: Semaphore;
  private readonly logger: Logger;

  constructor(
    private readonly policy: ToolPolicy,
    private readonly tools: ReadonlyMap<string, ToolDefinition>,
    logger: Logger,
  ) {
    this.semaphore = new Semaphore(policy.maxConcurrentOperations);
    this.logger = logger.child({ component: 'tool-broker', agentId: policy.agentId });
  }

  /** Checks, counts and runs one tool call; never throws. `signal` cancels it (CANCELLED, promptly). */
  async call(name: string, args: unknown, signal: AbortSignal = NEVER_ABORTED): Promise<Result<unknown, QiError>> {
    if (this.logger.isLevelEnabled('debug')) this.logger.debug({ tool: name, ...argsForLog(args) }, `tool call ${name}`);
    const cancelled = (): Result<unknown, QiError> =>
      failure(qiError('CANCELLED', `tool call '${name}' was cancelled`, { agentId: this.policy.agentId, tool: name }));
    if (signal.aborted) return cancelled();
    const admitted = admitCall(this.policy, this.tools, this.counters, name, args);
    if (admitted.tag === 'failure') {
      this.counters.deniedCalls++;
      // Refusals are logged at warn by the SubAgent, through the agent's log budget (an agent can
      // make refused calls as fast as it can send messages).
      this.logger.debug({ tool: name, code: admitted.error.code }, admitted.error.message);
      return admitted;
    }
    const { tool } = admitted.value;
    this.count(tool, 1);
    if (!(await this.semaphore.acquire(signal))) {
      this.count(tool, -1); // cancelled while waiting: it never ran, so it spends no budget
      return cancelled();
    }
    const started = performance.now();
    const running = this.safeRun(tool, admitted.value.args, this.context(name, signal)).finally(() => this.semaphore.release());
    const result = await raceAbort(running, signal, cancelled);
    const durationMs = Math.round(performance.now() - started);
    if (result.tag === 'success') this.logger.debug({ tool: name, outcome: 'ok', durationMs }, `tool ${name} done`);
    else if (result.error.category === 'AUTHORIZATION') {
      this.counters.deniedCalls++; // refused by the tool's path / host check: it ran, so it also spent budget
      this.logger.debug({ tool: name, code: result.error.code, durationMs }, result.error.message);
    } else this.logger.debug({ tool: name, outcome: result.error.code, durationMs }, `tool ${name} failed`);
    return result;
  }

  /** A copy of the usage counters. */
  usage(): ToolUsage {
    return { ...this.counters };
  }

  private count(tool: ToolDefinition, delta: 1 | -1): void {
    this.counters.toolCalls += delta;
    if (tool.fileOperation) this.counters.fileOperations += delta;
    if (tool.networkRequest) this.counters.networkRequests += delta;
  }

  private context(name: string, signal: AbortSignal): ToolContext {
    const { policy } = this;
    return {
      policy,
      signal,
      logger: this.logger.child({ tool: name }),
      checkRead: (p) => checkReadPath(policy, p),
      checkWrite: (p) => checkWritePath(policy, p),
      confirmOpened: (op, p, fd) => confirmOpened(policy, op, p, fd),
      checkHost: (url) => checkHost(policy, url),
    };
  }

  private async safeRun(tool: ToolDefinition, args: unknown, ctx: ToolContext): Promise<Result<unknown, QiError>> {
    try {
      return await tool.run(args, ctx);
    } catch (e) {
      const error = e instanceof Error ? e : new Error(String(e));
      const stack = error.stack ?? error.message;
      return failure(qiError('INTERNAL', `tool '${tool.name}' threw instead of returning a Result: ${error.message}; this is a bug in the tool or an unexpected OS error`, { tool: tool.name, stack }));
    }
  }
}

export { builtinTools } from './builtin/index.js';
