import os from 'node:os';
import type { QiError, Result } from '@qi/base';
import { failure, success } from '@qi/base';
import type { AgentContext } from '../context.js';
import type { ResourceManager } from '../resources/index.js';
import type { SubAgentSpecification } from '../schemas/spec.js';
import type { SubAgent } from '../subagent/agent.js';
import type { CoordinationServices, SubAgentFactory } from '../subagent/factory.js';
import { handOver, waitFor, type BudgetWait } from './budget-waits.js';
import type { AgentRecord } from './report.js';

/** An agent a run holds (leased for one subtask at a time, plus those sent ahead to it; a reentrant one for up to its concurrency at once). */
export interface LiveAgent {
  readonly agent: SubAgent;
  readonly profile: string;
  lane: number;
  busy: boolean;
  /** Subtasks leased to the agent and not ended: the one it runs and those sent ahead (or running beside it). */
  load: number;
  /** Set when the run itself stops the agent (not a failure of the agent). */
  retiring: boolean;
  /** The agent's budget allocation, held until its process is gone. */
  readonly allocationId: string;
  readonly memoryMB: number;
}

/** What an agent lease needs to know of the subtask it is for. */
export interface LeaseRequest {
  readonly key: number;
  readonly label: string;
  readonly profile: string;
  readonly lane: number;
  /** The lane's planned memory allocation (MB): what the budget is asked for. */
  readonly memoryMB: number;
  readonly priority: number;
  readonly spec: SubAgentSpecification;
  /** A retry runs on a fresh agent. */
  readonly fresh: boolean;
}

export interface RunAgentsDeps {
  readonly factory: SubAgentFactory;
  readonly resources: ResourceManager;
  readonly context: AgentContext;
  readonly services: CoordinationServices;
  readonly maxConcurrentAgents: number;
  /** How many subtasks an agent of short subtasks may hold beyond the one it runs (`dispatch.prefetch`; 0: none). */
  readonly prefetch: number;
  /** Set once the run is cancelled: no agent is started after it. */
  readonly cancelled: () => QiError | undefined;
  readonly onStarted: (live: LiveAgent) => void;
  /** The agent's process is gone (after its budget came back). */
  readonly onExit: (live: LiveAgent) => void;
}

/**
 * The agents of one run, leased to subtasks: an idle agent of the subtask's profile (its lane's
 * first) is reused before anything new starts; a new agent waits for budget, and one of its
 * profile turning idle meanwhile is handed over instead; idle agents are retired only to make
 * room for another profile.
 */
export class RunAgents {
  private readonly live = new Map<string, LiveAgent>();
  private readonly records = new Map<string, AgentRecord>();
  /** Subtasks waiting for budget for a new agent, by key (abortAll() ends them at once). */
  private readonly waits = new Map<number, BudgetWait<LiveAgent>>();
  /** Subtasks leased to agents behind the one each runs (sent ahead). */
  private ahead = 0;
  /** Busy agents that cover the host's cores, one left for the coordinator (read once: it does not change during a run). */
  private readonly agentCores = Math.max(1, os.availableParallelism() - 1);

  constructor(private readonly deps: RunAgentsDeps) {}

  has(agentId: string): boolean {
    return this.live.has(agentId);
  }

  /** The lane of the subtask the agent last ran (undefined for an agent the run does not hold). */
  laneOf(agentId: string): number | undefined {
    return this.live.get(agentId)?.lane;
  }

  values(): IterableIterator<LiveAgent> {
    return this.live.values();
  }

  /** Per-agent records of everything the run used, in start order. */
  agentRecords(): AgentRecord[] {
    return [...this.records.values()];
  }

  record(agentId: string): AgentRecord {
    let record = this.records.get(agentId);
    if (record === undefined) {
      record = { agentId, busyMs: 0, completed: [], failed: [], usage: { memoryMB: 0, executionTimeMs: 0, toolCalls: 0, networkRequests: 0, fileOperations: 0 }, peakMemoryMB: 0 };
      this.records.set(agentId, record);
    }
    return record;
  }

  /** A reentrant agent of the profile with a free slot, an idle agent of the profile, else a new one within the budget. */
  async acquire(r: LeaseRequest): Promise<Result<LiveAgent, QiError>> {
    // A reentrant agent runs the subtask beside those it runs: it holds no concurrency slot of
    // its own (as one sent ahead), so `maxConcurrentAgents` counts processes, each running up to
    // its plugin's concurrency.
    const beside = r.fresh ? undefined : this.besideOf(r.profile);
    if (beside !== undefined) {
      beside.load++;
      this.ahead++;
      return success(beside);
    }
    const now = Date.now();
    // Short subtasks fill the queues of the first busy agents that cover the cores the coordinator
    // leaves before an idle agent is woken, and other busy agents drain: more agents would only
    // compete for those cores (with the coordinator too) and split the batches. An agent beyond
    // them is used when their queues are full. Longer subtasks never queue.
    const early = r.fresh || this.busyAgents() < this.agentCores ? undefined : this.takerOf(r.profile, now, this.agentCores);
    const reused = r.fresh || early !== undefined ? undefined : this.idleOf(r.profile, r.lane);
    if (reused !== undefined) {
      reused.busy = true;
      reused.load = 1;
      reused.lane = r.lane;
      return success(reused);
    }
    const taker = early ?? (r.fresh ? undefined : this.takerOf(r.profile, now));
    if (taker !== undefined) {
      taker.load++;
      this.ahead++;
      return success(taker);
    }
    const kept = [...this.live.values()].filter((a) => !a.retiring);
    if (kept.length >= this.deps.maxConcurrentAgents) {
      const spare = kept.find((a) => !a.busy);
      if (spare !== undefined) this.retire(spare, 'making room for another profile');
    }
    this.makeRoom(r.memoryMB);
    const wait: BudgetWait<LiveAgent> = { memoryMB: r.memoryMB, profile: r.profile, lane: r.lane, controller: new AbortController(), handedOver: undefined };
    this.waits.set(r.key, wait);
    const allocation = await this.deps.resources.acquire(r.memoryMB, r.label, r.priority, wait.controller.signal, { untilReleased: true }).finally(() => this.waits.delete(r.key));
    if (wait.handedOver !== undefined) {
      if (allocation.tag === 'success') this.deps.resources.release(allocation.value.allocationId);
      return success(wait.handedOver);
    }
    if (allocation.tag === 'failure') return wait.error === undefined ? allocation : failure(wait.error);
    const cancelled = this.deps.cancelled();
    if (cancelled !== undefined) {
      this.deps.resources.release(allocation.value.allocationId);
      return failure(cancelled);
    }
    const spawned = await this.deps.factory.spawn(r.spec, this.deps.context, { services: this.deps.services, refill: false });
    if (spawned.tag === 'failure') {
      this.deps.resources.release(allocation.value.allocationId);
      return spawned;
    }
    const live: LiveAgent = { agent: spawned.value, profile: r.profile, lane: r.lane, busy: true, load: 1, retiring: false, allocationId: allocation.value.allocationId, memoryMB: r.memoryMB };
    this.live.set(live.agent.id, live);
    this.record(live.agent.id);
    this.deps.onStarted(live);
    void live.agent.exited.then(() => {
      this.forget(live);
      this.deps.onExit(live);
    });
    return success(live);
  }

  private idleOf(profile: string, lane: number): LiveAgent | undefined {
    let any: LiveAgent | undefined;
    for (const a of this.live.values()) {
      if (a.busy || a.profile !== profile || a.agent.status !== 'ready') continue;
      if (a.lane === lane) return a;
      any ??= a;
    }
    return any;
  }

  /** A leased reentrant agent of the profile with a free slot (its first lease may not have begun yet: the agent is still `ready`). */
  private besideOf(profile: string): LiveAgent | undefined {
    for (const a of this.live.values()) {
      if (a.load > 0 && this.besideRoom(a) > 0 && a.profile === profile) return a;
    }
    return undefined;
  }

  /** How many more subtasks a leased reentrant agent may take beside those it runs. */
  private besideRoom(a: LiveAgent): number {
    const status = a.agent.status;
    if (a.retiring || (status !== 'executing' && status !== 'ready')) return 0;
    return Math.max(0, a.agent.concurrency - Math.max(a.load, a.agent.runningCount));
  }

  /**
   * Whether a subtask of the profile could be leased now without a concurrency slot: beside the
   * subtasks of a reentrant agent, or sent ahead to an agent of short subtasks. The room
   * {@link RunAgents.queueRoom} counts is any profile's; this says whether it is this one's.
   */
  takesAhead(profile: string): boolean {
    return this.besideOf(profile) !== undefined || this.takerOf(profile, Date.now()) !== undefined;
  }

  private busyAgents(): number {
    let busy = 0;
    for (const a of this.live.values()) if (a.load > 0) busy++;
    return busy;
  }

  /** An agent of the profile that may be sent one more subtask ahead now (see SubAgent.canTakeAhead). */
  private takerOf(profile: string, now: number, firstBusy = Infinity): LiveAgent | undefined {
    if (this.deps.prefetch === 0) return undefined;
    let rank = 0;
    for (const a of this.live.values()) {
      if (a.load === 0) continue;
      if (++rank > firstBusy) return undefined;
      if (a.profile === profile && !a.retiring && a.load <= a.agent.aheadDepth(this.deps.prefetch) && a.agent.canTakeAhead(now)) return a;
    }
    return undefined;
  }

  /**
   * How many more subtasks could be sent ahead to the run's agents now (what the scheduler may
   * start beyond its concurrency), and whether the first busy agents, covering the cores the
   * coordinator leaves, all take short subtasks ahead (`saturated`): then new work waits for room
   * in their queues instead of waking an idle agent or starting one (more agents would only
   * compete for those cores, with the coordinator too, and split the batches), and only their
   * queues' room counts.
   */
  queueRoom(): { room: number; saturated: boolean } {
    const now = Date.now();
    let busy = 0;
    let takers = 0;
    let first = 0;
    let rest = 0;
    let beside = 0;
    for (const a of this.live.values()) {
      if (a.load === 0) continue;
      busy++;
      if (a.agent.concurrency > 1) {
        beside += this.besideRoom(a);
        continue;
      }
      if (this.deps.prefetch === 0 || a.retiring || !a.agent.canTakeAhead(now)) continue;
      const room = Math.max(0, a.agent.aheadDepth(this.deps.prefetch) + 1 - a.load);
      if (busy <= this.agentCores) {
        takers++;
        first += room;
      } else rest += room;
    }
    const saturated = takers >= this.agentCores;
    return { room: (saturated ? first : first + rest) + beside, saturated };
  }

  /** Subtasks sent ahead to agents (leased, behind the one each agent runs). */
  get aheadCount(): number {
    return this.ahead;
  }

  /** The subtask is done with the agent: handed to a subtask waiting for budget for its profile, or kept idle. */
  release(live: LiveAgent): void {
    if (live.load > 1) this.ahead--;
    live.load = Math.max(0, live.load - 1);
    if (live.load > 0 && live.agent.alive) return;
    live.busy = false;
    if (!live.agent.alive || live.agent.status !== 'ready') {
      this.forget(live);
      return;
    }
    const wait = waitFor(this.waits.values(), live.profile);
    if (wait === undefined) return;
    live.busy = true;
    live.load = 1;
    live.lane = wait.lane;
    handOver(wait, live);
  }

  /** While subtasks wait for budget, idle agents are retired until the largest of them fits. */
  makeRoomForWaits(): void {
    let largest = 0;
    for (const w of this.waits.values()) largest = Math.max(largest, w.memoryMB);
    if (this.waits.size > 0) this.makeRoom(largest);
  }

  /**
   * Idle agents keep their budget for the next subtask of their profile. When a new agent of
   * `memoryMB` would not fit the budget, idle agents are retired until it does (budget of agents
   * already retiring counts as coming back): otherwise a new agent could wait forever for budget
   * that nobody gives back.
   */
  private makeRoom(memoryMB: number): void {
    const usage = this.deps.resources.usage();
    // An agent bigger than the whole budget is refused at once: retiring others would not help.
    if (memoryMB > usage.budget.maxTotalMemory) return;
    const returning = [...this.live.values()].filter((a) => a.retiring);
    let freeMB = usage.budget.maxTotalMemory - usage.memoryMB + returning.reduce((sum, a) => sum + a.memoryMB, 0);
    let freeSlots = usage.budget.maxConcurrentAllocations - usage.allocations + returning.length;
    for (const spare of this.live.values()) {
      if (memoryMB <= freeMB && freeSlots > 0) return;
      if (spare.busy || spare.retiring) continue;
      this.retire(spare, 'making room within the memory budget');
      freeMB += spare.memoryMB;
      freeSlots += 1;
    }
  }

  /** Stops an agent the run no longer wants; its budget comes back when its process is gone. */
  retire(live: LiveAgent, reason: string, outcome: 'completed' | 'terminated' = 'completed', force = false): Promise<unknown> {
    live.retiring = true;
    return live.agent.terminate(reason, outcome, force);
  }

  /** Ends every budget wait at once (the run is cancelled; or, with `error`, no agent can ever be admitted for them). */
  abortWaits(error?: QiError): void {
    for (const wait of this.waits.values()) {
      wait.error = error;
      wait.controller.abort();
    }
  }

  /** Whether the subtask of lease key `key` waits for budget for a new agent. */
  waitsForBudget(key: number): boolean {
    return this.waits.has(key);
  }

  get budgetWaits(): number {
    return this.waits.size;
  }

  /** Stops every agent and gives back every allocation; resolves when their processes are gone. */
  async stopAll(reason: string): Promise<void> {
    await Promise.all([...this.live.values()].map((live) => this.retire(live, reason)));
    for (const live of [...this.live.values()]) this.forget(live);
  }

  private forget(live: LiveAgent): void {
    if (!this.live.delete(live.agent.id)) return;
    this.ahead -= Math.max(0, live.load - 1);
    live.load = 0;
    this.deps.resources.release(live.allocationId);
  }
}
