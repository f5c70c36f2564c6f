import type { QiError, Result } from '@qi/base';
import type { SubAgentSpecification } from '../schemas/spec.js';
import type { PluginSource } from '../subagent/plugin-source.js';
import type { AgentConnection } from '../subagent/transport.js';

/** What a worker asks of its warm agents. */
export interface WarmAgentsOptions {
  /** Ready agents kept per profile (0: none). */
  readonly size: number;
  /** Ready agents kept across profiles. */
  readonly maxTotal: number;
  /** The worker's slots: running sessions plus ready and starting agents never exceed them. */
  readonly slots: number;
  /** The worker's memory budget (resources.maxTotalMemory): the maxMemoryMB of running sessions plus ready and starting agents stays within it. */
  readonly maxTotalMemoryMB: number;
  /** What the worker's running sessions hold now. */
  busy(): { readonly sessions: number; readonly memoryMB: number };
  /** False while a session of the worker is on its way out (see {@link WarmAgents.refillLater}). */
  quiet?(): boolean;
  /** Starts one agent of a profile on the local transport, under an id of the worker's own. */
  start(spec: SubAgentSpecification, plugin: PluginSource): Promise<Result<AgentConnection, QiError>>;
  /** An agent is ready and waiting (`ready`: how many wait now, all profiles). */
  onReady?(profile: WarmProfile, ready: number): void;
}

/** A profile: the exact plugin file and specification its agents were started with. */
export interface WarmProfile {
  readonly key: string;
  readonly spec: SubAgentSpecification;
  readonly plugin: PluginSource;
}

/** Profiles remembered for refills (the ones served most recently). */
const MAX_PROFILES = 32;

/**
 * The profile of a job: the plugin file and its content hash, and the whole specification but
 * the fields that do not shape the process (the parent's id, configuration overrides), as the
 * local warm pool keys its agents. An agent is handed out only for the very same key: never
 * across plugins, versions, limits, security constraints or isolation levels.
 */
export function warmProfile(spec: SubAgentSpecification, plugin: PluginSource, sha256: string): WarmProfile {
  const { parentAgentId: _parent, configurationOverrides: _overrides, ...profile } = spec;
  return { key: JSON.stringify({ profile, plugin: plugin.path, sha256 }), spec, plugin };
}

interface Ready {
  readonly key: string;
  readonly memoryMB: number;
  readonly connection: AgentConnection;
}

/**
 * A worker's warm agents: after it serves a profile it keeps up to `size` agents of that
 * profile started and ready (plugin loaded), so the next job of the same profile skips the
 * agent start. Like the local pool, an agent is handed out once and never comes back (a process
 * that ran a subtask is stopped with its session). Ready agents count against the worker's
 * slots and memory budget: they are started only into room that running sessions leave, and a
 * cold start that finds no room stops the oldest ready agent of another profile.
 */
export class WarmAgents {
  /** Ready agents, oldest first. */
  private ready: Ready[] = [];
  private starting = 0;
  private startingMB = 0;
  /** Agents starting, per profile. */
  private readonly startingOf = new Map<string, number>();
  private readonly pending = new Set<Promise<void>>();
  private readonly profiles = new Map<string, WarmProfile>();
  /** Jobs taken whose agent is not yet a session: they hold a slot and their memory already. */
  private readonly claimed = { sessions: 0, memoryMB: 0 };
  /** Profiles waiting for {@link refillLater}'s quiet moment. */
  private readonly later = new Map<string, WarmProfile>();
  private closed = false;

  constructor(private readonly o: WarmAgentsOptions) {}

  get readyCount(): number {
    return this.ready.length;
  }

  /** A ready agent of this profile, if one is waiting and alive; dead ones met on the way are dropped. */
  take(key: string): AgentConnection | undefined {
    for (let i = 0; i < this.ready.length; i++) {
      const r = this.ready[i]!;
      if (r.key !== key) continue;
      this.ready.splice(i--, 1);
      if (r.connection.alive) return r.connection;
      void r.connection.stop('warm agent died while waiting', 0, true);
    }
    return undefined;
  }

  /** Makes room for a cold start (already claimed): stops the oldest ready agents while the worker exceeds its slots or memory. */
  makeRoom(): void {
    while (this.ready.length > 0 && this.overBudget(0, 0)) {
      const oldest = this.ready.shift()!;
      void oldest.connection.stop('room for another profile', 0, true);
    }
  }

  /** Tops up this profile's ready agents in the background, within the budgets. */
  refill(profile: WarmProfile): void {
    if (this.closed || this.o.size === 0) return;
    this.profiles.delete(profile.key);
    this.profiles.set(profile.key, profile);
    if (this.profiles.size > MAX_PROFILES) this.profiles.delete(this.profiles.keys().next().value!);
    const memoryMB = profile.spec.resourceLimits.maxMemoryMB;
    let held = this.ready.filter((r) => r.key === profile.key).length + (this.startingOf.get(profile.key) ?? 0);
    while (held < this.o.size && this.ready.length + this.starting < this.o.maxTotal && !this.overBudget(1, memoryMB)) {
      held++;
      this.startOne(profile, memoryMB);
    }
  }

  /** Counts a job's agent against the budgets from the job's arrival until it is a session (the returned release). */
  claim(memoryMB: number): () => void {
    this.claimed.sessions++;
    this.claimed.memoryMB += memoryMB;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.claimed.sessions--;
      this.claimed.memoryMB -= memoryMB;
    };
  }

  /**
   * Refills a profile whose session ended, once no session is on its way out: a run's end stops
   * its agents together, and starting new ones meanwhile would take the CPU their ends (which the
   * coordinator waits for) need. Never in the turn of the end itself either: a spawn's
   * synchronous work would hold the end record back from the coordinator.
   */
  refillLater(profile: WarmProfile): void {
    this.later.set(profile.key, profile);
    setImmediate(() => {
      if (this.closed || this.o.quiet?.() === false) return;
      const profiles = [...this.later.values()];
      this.later.clear();
      for (const p of profiles) this.refill(p);
    });
  }

  /** SIGKILLs every ready agent at once (the worker is exiting now). */
  killAll(): void {
    for (const r of this.ready) r.connection.kill();
  }

  /** Stops every ready agent and those still starting. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.pending]);
    const all = this.ready;
    this.ready = [];
    await Promise.all(all.map((r) => r.connection.stop('worker closing', 0, true)));
  }

  /** True when `agents` more of `memoryMB` each would take the worker past its slots or memory budget. */
  private overBudget(agents: number, memoryMB: number): boolean {
    const busy = this.o.busy();
    const readyMB = this.ready.reduce((sum, r) => sum + r.memoryMB, 0);
    const sessions = busy.sessions + this.claimed.sessions + this.ready.length + this.starting + agents;
    const heldMB = busy.memoryMB + this.claimed.memoryMB + readyMB + this.startingMB + agents * memoryMB;
    return sessions > this.o.slots || heldMB > this.o.maxTotalMemoryMB;
  }

  private startOne(profile: WarmProfile, memoryMB: number): void {
    this.starting++;
    this.startingMB += memoryMB;
    this.startingOf.set(profile.key, (this.startingOf.get(profile.key) ?? 0) + 1);
    const done = this.o.start(profile.spec, profile.plugin).then(async (r) => {
      this.starting--;
      this.startingMB -= memoryMB;
      const left = this.startingOf.get(profile.key)! - 1;
      if (left > 0) this.startingOf.set(profile.key, left);
      else this.startingOf.delete(profile.key);
      if (r.tag === 'failure') return;
      // Closed meanwhile, or the room was taken by sessions that came in while it started.
      if (this.closed || this.overBudget(1, memoryMB)) await r.value.stop('not needed', 0, true);
      else {
        this.ready.push({ key: profile.key, memoryMB, connection: r.value });
        this.o.onReady?.(profile, this.ready.length);
      }
    });
    this.pending.add(done);
    void done.finally(() => this.pending.delete(done));
  }
}
