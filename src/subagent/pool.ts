import type { QiError, Result } from '@qi/base';

/** A started agent process waiting in the pool, with the identity it was started under. */
export interface PooledAgent {
  readonly agentId: string;
  readonly workspace: string;
  /** False once the process died or was killed while waiting. */
  alive(): boolean;
  /** Stops it (pool shrink, close). */
  discard(): Promise<void>;
}

/**
 * Warm pool of pre-started agents, keyed by security profile (everything that shapes the
 * process: plugin, flags, wrappers, environment). An agent is handed out once and never comes
 * back: a process that ran one subtask is never given to another profile or another run.
 * At most `size` agents per profile and `maxTotal` across profiles are ready or starting.
 */
export class WarmPool<T extends PooledAgent> {
  private readonly ready = new Map<string, T[]>();
  private readonly filling = new Map<string, number>();
  private readonly pending = new Set<Promise<void>>();
  private closed = false;

  constructor(
    private readonly size: number,
    private readonly maxTotal: number = Number.POSITIVE_INFINITY,
  ) {}

  /** Ready and starting agents across profiles. */
  private held(): number {
    let n = this.readyCount;
    for (const starting of this.filling.values()) n += starting;
    return n;
  }

  /** A ready agent of this profile, if one is waiting. */
  take(key: string): T | undefined {
    const list = this.ready.get(key);
    while (list !== undefined && list.length > 0) {
      const agent = list.shift()!;
      if (list.length === 0) this.ready.delete(key);
      if (agent.alive()) return agent;
      void agent.discard();
    }
    return undefined;
  }

  /** Adds an agent started elsewhere (prewarm); stopped at once if the pool is closed or full. */
  put(key: string, agent: T): void {
    if (this.closed || this.held() >= this.maxTotal) {
      void agent.discard();
      return;
    }
    const list = this.ready.get(key) ?? [];
    list.push(agent);
    this.ready.set(key, list);
  }

  /** Starts agents in the background until `size` are ready or being started for this profile. */
  refill(key: string, start: () => Promise<Result<T, QiError>>): void {
    if (this.closed || this.size === 0) return;
    const list = this.ready.get(key) ?? [];
    const inFlight = this.filling.get(key) ?? 0;
    for (let i = list.length + inFlight; i < this.size && this.held() < this.maxTotal; i++) {
      this.filling.set(key, (this.filling.get(key) ?? 0) + 1);
      const done = start().then(async (r) => {
        const left = (this.filling.get(key) ?? 1) - 1;
        if (left > 0) this.filling.set(key, left);
        else this.filling.delete(key);
        if (r.tag === 'failure') return;
        if (this.closed) await r.value.discard();
        else this.put(key, r.value);
      });
      this.pending.add(done);
      void done.finally(() => this.pending.delete(done));
    }
  }

  /** Number of ready agents across profiles. */
  get readyCount(): number {
    let n = 0;
    for (const list of this.ready.values()) n += list.length;
    return n;
  }

  /** Stops every waiting agent. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.pending]);
    const all = [...this.ready.values()].flat();
    this.ready.clear();
    await Promise.all(all.map((a) => a.discard()));
  }
}
