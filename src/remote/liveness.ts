import type { Redis } from 'ioredis';
import { within } from './redis.js';

/**
 * Heartbeats between the processes of the remote executor. Each process refreshes its own
 * heartbeat key with a TTL of `lockMs` every quarter of it; `PeerWatch` checks the keys of the
 * peers it has sessions with every `checkMs` (≤ 250 ms) and reports a peer whose key expired:
 * a dead process is noticed within lockMs + checkMs. When Redis itself does not answer for
 * lockMs, every peer is reported lost (nothing waits on a Redis that is gone).
 */
export class Heartbeat {
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly redis: Redis,
    private readonly key: string,
    lockMs: number,
  ) {
    const beat = (): void => void redis.set(key, '1', 'PX', lockMs).catch(() => undefined);
    beat();
    this.timer = setInterval(beat, Math.max(50, Math.floor(lockMs / 4))).unref();
  }

  /** Stops beating and deletes the key (the peers see this process gone at once). */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await within(this.redis.del(this.key), 2000, 'DEL heartbeat');
  }
}

export class PeerWatch {
  private readonly peers = new Map<string, { key: string; count: number }>();
  private readonly timer: NodeJS.Timeout;
  private lastOk = Date.now();
  private checking = false;

  constructor(
    private readonly redis: Redis,
    private readonly lockMs: number,
    private readonly onLost: (peer: string, why: string) => void,
  ) {
    this.timer = setInterval(() => void this.check(), Math.min(250, Math.max(50, Math.floor(lockMs / 4)))).unref();
  }

  /** Watches `peer` (counted: one per session on it). */
  track(peer: string, key: string): void {
    const entry = this.peers.get(peer);
    if (entry === undefined) this.peers.set(peer, { key, count: 1 });
    else entry.count++;
  }

  untrack(peer: string): void {
    const entry = this.peers.get(peer);
    if (entry === undefined) return;
    if (--entry.count <= 0) this.peers.delete(peer);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private async check(): Promise<void> {
    if (this.checking) return;
    if (this.peers.size === 0) {
      this.lastOk = Date.now();
      return;
    }
    this.checking = true;
    try {
      const peers = [...this.peers.entries()];
      const pipeline = this.redis.pipeline();
      for (const [, { key }] of peers) pipeline.exists(key);
      const answered = await within(pipeline.exec(), this.lockMs, 'heartbeat check');
      if (answered.tag === 'failure' || answered.value === null || answered.value.some(([err]) => err !== null)) {
        if (Date.now() - this.lastOk > this.lockMs) {
          const why = answered.tag === 'failure' ? answered.error.message : 'Redis returned errors';
          for (const [peer] of peers) this.lose(peer, `Redis did not answer for ${this.lockMs} ms (${why})`);
        }
        return;
      }
      this.lastOk = Date.now();
      answered.value.forEach(([, exists], i) => {
        if (exists === 0) this.lose(peers[i]![0], `its heartbeat expired (no sign of life for ${this.lockMs} ms)`);
      });
    } finally {
      this.checking = false;
    }
  }

  private lose(peer: string, why: string): void {
    if (!this.peers.delete(peer)) return;
    this.onLost(peer, why);
  }
}
