/**
 * The public surface, one entry per audience: `qicoord` exports what a host needs and nothing
 * internal; `qicoord/testing` the test helpers. A name added to or removed from an entry fails
 * here first, so the change is deliberate (and the README's "Package layout" follows it).
 */
import type { QiError, Result } from '@qi/base';
import { describe, expect, expectTypeOf, it } from 'vitest';
import * as host from 'qicoord';
import type { CoordinationResult, CoordinatorEvent, CoordinatorOptions, IMultiAgentCoordinator, MultiAgentCoordinator } from 'qicoord';
import * as testing from 'qicoord/testing';
import type { AgentTransport, InMemoryTransport } from 'qicoord/testing';

describe('qicoord (hosts)', () => {
  it('exports exactly the host runtime values', () => {
    expect(Object.keys(host).sort()).toEqual(
      ['ERROR_CATALOGUE', 'MultiAgentCoordinator', 'PluginProbeCache', 'createCoordinator', 'hasCode', 'loadConfig', 'loadTaskFile', 'parseTask', 'parseTaskText', 'qiError', 'resolveConfig'].sort(),
    );
  });

  it('keeps engines, the factory and schemas private', () => {
    for (const name of ['SubAgentFactory', 'SubAgent', 'TaskDistributionEngine', 'CoordinationExecutionEngine', 'PluginRegistry', 'ResourceManager', 'ChannelRouter', 'SyncHub', 'planLaunch', 'createRootLogger', 'ConfigSchema', 'DistributedTask']) {
      expect(host).not.toHaveProperty(name);
    }
  });

  it('types: the spec coordinator, its results and events, and the transport option', () => {
    expectTypeOf<MultiAgentCoordinator>().toExtend<IMultiAgentCoordinator>();
    expectTypeOf(host.createCoordinator).returns.resolves.toEqualTypeOf<Result<MultiAgentCoordinator, QiError>>();
    expectTypeOf<CoordinatorOptions['transport']>().toEqualTypeOf<AgentTransport | undefined>();
    expectTypeOf<CoordinationResult['aggregatedResult']['subtasks'][number]['status']>().toEqualTypeOf<'succeeded' | 'failed' | 'skipped' | 'cancelled'>();
    expectTypeOf<Extract<CoordinatorEvent, { type: 'run-end' }>>().toHaveProperty('coordinationId');
  });
});

describe('qicoord/testing (plugin and host tests)', () => {
  it('exports the spec helpers, the plugin harness and the in-memory transport', () => {
    expect(Object.keys(testing).sort()).toEqual(['AgentTestUtils', 'inMemoryTransport', 'runPluginForTest']);
    const transport = testing.inMemoryTransport();
    expectTypeOf(transport).toEqualTypeOf<InMemoryTransport>();
    expectTypeOf(transport).toExtend<AgentTransport>();
    expect(transport.kind).toBe('in-memory');
  });
});
