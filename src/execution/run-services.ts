import type { QiError, Result } from '@qi/base';
import { ChannelRouter } from '../channels/index.js';
import type { TaskDistribution } from '../distribution/types.js';
import type { ChannelRequest, SubAgent } from '../subagent/agent.js';
import type { CoordinationServices } from '../subagent/factory.js';
import { SyncHub } from '../sync/index.js';
import { ChannelGate } from './channel-gate.js';
import { channelOperation, type ChannelCheck } from './channel-ops.js';
import type { RunDeps } from './run-deps.js';

export interface RunServicesHooks {
  /** A subtask began waiting at a sync point (it holds no concurrency slot meanwhile). */
  readonly onWait: () => void;
  /** A point released a subtask with its outcome. */
  readonly onReleased: (pointId: string, outcome: unknown) => void;
  /** The plan lane of a subtask id, or of the subtask an agent id runs now. */
  readonly laneOf: (target: string) => number | undefined;
}

/**
 * What a run's agents reach through the coordinator besides tools: the synchronization points
 * and the channels, with the time spent in them (the run's communication overhead).
 */
export class RunServices {
  readonly hub: SyncHub;
  readonly router: ChannelRouter;
  /** Subtasks waiting at a sync point. */
  readonly waitingSync = new Set<string>();
  communicationMs = 0;
  private readonly check: ChannelCheck;

  constructor(
    distribution: TaskDistribution,
    deps: Pick<RunDeps, 'emit' | 'config' | 'runDir'>,
    private readonly hooks: RunServicesHooks,
  ) {
    const id = distribution.distributionId;
    const ids = distribution.subtasks.map((s) => s.id);
    this.hub = new SyncHub({
      points: distribution.synchronizationPlan.points,
      allSubtasks: ids,
      failureHandling: distribution.strategy.failureHandling,
      checkpointDir: deps.runDir,
      onEvent: (event) => deps.emit({ type: 'sync', coordinationId: id, event: { ...event }, at: Date.now() }),
    });
    this.router = new ChannelRouter({
      maxMessageBytes: deps.config.sandbox.maxMessageBytes,
      onEvent: (event) => deps.emit({ type: 'channel', coordinationId: id, event: { ...event }, at: Date.now() }),
    });
    this.router.declareSubtasks(ids);
    const lanes = new Map(distribution.agentAllocations.map((a, l) => [a.agentId, l]));
    this.check = { gate: new ChannelGate(distribution.communicationChannels, lanes), laneOf: hooks.laneOf };
  }

  /** The services every agent of the run is started with. */
  forAgents(): CoordinationServices {
    return { sync: (agent, subtaskId, pointId, value) => this.sync(agent, subtaskId, pointId, value), channel: (agent, subtaskId, request) => this.channel(agent, subtaskId, request) };
  }

  close(): void {
    this.hub.close();
    this.router.close();
  }

  private async sync(agent: SubAgent, subtaskId: string, pointId: string, value: unknown): Promise<Result<unknown, QiError>> {
    this.waitingSync.add(subtaskId);
    this.hooks.onWait();
    const started = performance.now();
    const result = await this.hub.arrive(pointId, subtaskId, agent.id, value);
    this.communicationMs += performance.now() - started;
    this.waitingSync.delete(subtaskId);
    if (result.tag === 'success') this.hooks.onReleased(pointId, result.value);
    return result;
  }

  private async channel(agent: SubAgent, subtaskId: string, m: ChannelRequest): Promise<Result<unknown, QiError>> {
    const started = performance.now();
    const result = await channelOperation(this.router, this.hub, this.check, agent.id, subtaskId, m);
    // A queue pull waits for a producer: that is the consumer's idle time, not messaging.
    if (m.op !== 'queue-pull') this.communicationMs += performance.now() - started;
    return result;
  }
}
