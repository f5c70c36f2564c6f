import type { QiError, Result } from '@qi/base';
import { errorToString } from '@qi/base';
import type { AgentContext } from '../context.js';
import { safeStringify } from '../util/safe-json.js';

/** Helpers for tests of code built on qicoord (the spec's AgentTestUtils). */
export const AgentTestUtils = {
  /** A context as a host agent would pass it. */
  createMockAgentContext(overrides: Partial<AgentContext> = {}): AgentContext {
    return {
      agentId: 'test-agent',
      sessionId: 'test-session',
      timestamp: new Date(),
      configuration: { name: 'test-agent' },
      metadata: {},
      ...overrides,
    };
  },

  /** The value of a success; throws (failing the test) with the error's code and message otherwise. */
  expectSuccess<T>(result: Result<T, QiError>): T {
    if (result.tag === 'success') return result.value;
    throw new Error(`expected success, got failure ${errorToString(result.error)}`);
  },

  /** The error of a failure; throws (failing the test) otherwise. */
  expectFailure<T>(result: Result<T, QiError>): QiError {
    if (result.tag === 'failure') return result.error;
    throw new Error(`expected failure, got success: ${safeStringify(result.value).slice(0, 200)}`);
  },
} as const;

export { runPluginForTest, type PluginTestOptions, type PluginTestOutcome, type CapturedLog } from './plugin-harness.js';
export { inMemoryTransport, type InMemoryTransport, type InMemoryTransportOptions, type InMemoryAgent } from '../subagent/in-memory-transport.js';
export type { AgentTransport, AgentConnection, AgentEnd, AgentBoundary, StartRequest, MessageSink } from '../subagent/transport.js';
