import type { Logger } from 'pino';
import pidusage from 'pidusage';
import { DEFAULT_CONFIG } from '../../config/defaults.js';
import type { DiskUsage } from './usage-probes.js';
import { descendantsResidentMB, diskUsage, residentMBOf } from './usage-probes.js';
import { UsageHistory } from './usage-history.js';

const MB = 1024 * 1024;

/** One reading of a watched process. */
export interface UsageSample {
  readonly at: number;
  readonly rssMB: number;
  /** CPU percent of one core since the previous reading. */
  readonly cpuPercent: number;
  /** CPU percent of one core averaged over the CPU window (undefined until the window is full). */
  readonly cpuWindowPercent: number | undefined;
  readonly peakRssMB: number;
  /** Bytes in the agent's workspace, MB (when its disk is watched). */
  readonly diskMB?: number;
  /** Files and folders in the agent's workspace (when its disk is watched; past the cap, the cap + 1). */
  readonly diskEntries?: number;
}

export type LimitKind = 'memory' | 'cpu' | 'disk';

export interface Watch {
  readonly agentId: string;
  readonly pid: number;
  /** Memory the agent may add on top of `baselineMB` (its runtime footprint at start). */
  readonly maxMemoryMB: number;
  readonly baselineMB: number;
  readonly maxCpuPercent?: number;
  /** The workspace whose size is held to `maxDiskBytes` (the disk watchdog); absent = not watched. */
  readonly disk?: { readonly path: string; readonly maxBytes: number };
  onSample(sample: UsageSample): void;
  /** Called once, when a limit is first crossed. */
  onLimit(kind: LimitKind, sample: UsageSample): void;
}

interface WatchState {
  readonly watch: Watch;
  peakRssMB: number;
  history: { at: number; ctime: number }[];
  tripped: boolean;
  /** The latest CPU reading (percent of one core since the one before; 0 until the first). */
  cpuPercent: number;
  cpuWindowPercent: number | undefined;
  /** The latest sample (what a CPU limit is reported with). */
  last: UsageSample | undefined;
  /** The workspace's last walk, and when the next one may run (performance.now()). */
  disk: DiskUsage | undefined;
  nextDiskWalkAt: number;
}

/**
 * A workspace walk may take at most this share of the time between its starts: a walk that took
 * W ms waits (1 / share − 1) × W before the next (a small workspace is still walked every tick).
 */
const DISK_WALK_SHARE = 0.1;

/** CPU readings per CPU window: enough to judge it, few enough to cost little (see ResourceMonitor). */
const CPU_READINGS_PER_WINDOW = 4;

/**
 * The spec's ResourceMonitor, made real: one timer for every live SubAgent. Every tick reads each
 * agent's resident memory (its whole process tree) and workspace size synchronously from /proc
 * and the disk, and stops one over its limit; CPU is read by pidusage for all the pids at once,
 * a few times per `cpuWindowMs` (CPU_READINGS_PER_WINDOW), and judged over that window from
 * cumulative CPU time (single short samples are too noisy). pidusage reads asynchronously, a
 * thread-pool round trip per file: measured here ~300 µs of CPU a call, where a synchronous read
 * of /proc/<pid>/statm costs ~4 µs; reading memory through it on every tick made the monitor of 8
 * idle agents cost 1.6–2.1 % of a core. A pid is dropped as soon as it is unwatched, and the /proc
 * fd pidusage keeps for it is closed once no reading is in flight.
 */
export class ResourceMonitor {
  private readonly states = new Map<number, WatchState>();
  private readonly history = new UsageHistory();
  /** Unwatched pids whose pidusage fd is closed after the reading in flight. */
  private readonly gone = new Set<number>();
  private timer: NodeJS.Timeout | undefined;
  /** Ticks between two CPU readings, and ticks since the last. */
  private readonly cpuEvery: number;
  private ticks = 0;
  /** The CPU reading in flight, if any. */
  private reading: Promise<void> | undefined;

  /**
   * @param maxWorkspaceEntries files and folders a watched workspace may hold: one holding more is
   *   over its disk limit (DISK_LIMIT). Each walk is bounded by it, so a plugin cannot make the
   *   coordinator's synchronous walk as long as it likes, nor hide bytes past the walk's end.
   */
  constructor(
    private readonly pollIntervalMs: number,
    private readonly cpuWindowMs: number,
    private readonly logger: Logger,
    private readonly maxWorkspaceEntries: number = DEFAULT_CONFIG.sandbox.maxWorkspaceEntries,
  ) {
    this.cpuEvery = Math.max(1, Math.floor(cpuWindowMs / CPU_READINGS_PER_WINDOW / pollIntervalMs));
  }

  /** Starts watching a process; returns the function that stops it. */
  watch(watch: Watch): () => void {
    this.states.set(watch.pid, { watch, peakRssMB: 0, history: [], tripped: false, cpuPercent: 0, cpuWindowPercent: undefined, last: undefined, disk: undefined, nextDiskWalkAt: 0 });
    this.timer ??= setInterval(this.tick, this.pollIntervalMs).unref();
    return () => this.unwatch(watch.pid);
  }

  /** Number of processes being watched. */
  get size(): number {
    return this.states.size;
  }

  /** Stops watching everything; resolves once pidusage's fds are closed (after the reading in flight). */
  async stop(): Promise<void> {
    for (const pid of this.states.keys()) this.gone.add(pid);
    this.states.clear();
    this.stopTimer();
    await this.reading;
    this.releaseGone();
  }

  private unwatch(pid: number): void {
    if (!this.states.delete(pid)) return;
    this.gone.add(pid);
    if (this.reading === undefined) this.releaseGone();
    if (this.states.size === 0) this.stopTimer();
  }

  private releaseGone(): void {
    // A pid watched again (a reused pid number) keeps its descriptor.
    for (const pid of this.states.keys()) this.gone.delete(pid);
    this.history.release(this.gone);
    this.gone.clear();
  }

  private stopTimer(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  private readonly tick = (): void => {
    if (this.states.size === 0) return;
    for (const state of [...this.states.values()]) this.judgeTick(state);
    // The first tick reads CPU too, so a window fills from the start.
    if (this.ticks++ % this.cpuEvery === 0 && this.reading === undefined) {
      this.reading = this.readCpu().finally(() => {
        this.reading = undefined;
        this.releaseGone();
      });
    }
  };

  /** Memory (the whole tree) and disk of one agent now; stops it over a limit. */
  private judgeTick(state: WatchState): void {
    const { watch } = state;
    const own = residentMBOf(watch.pid);
    // Gone: its connection reports the end; nothing to judge.
    if (own === undefined) return;
    // The whole tree: memory hidden in a child process counts against the agent.
    const rssMB = own + descendantsResidentMB(watch.pid);
    const disk = watch.disk === undefined ? undefined : this.walk(state, watch.disk.path);
    state.peakRssMB = Math.max(state.peakRssMB, rssMB);
    const sample: UsageSample = {
      at: Date.now(),
      rssMB,
      cpuPercent: state.cpuPercent,
      cpuWindowPercent: state.cpuWindowPercent,
      peakRssMB: state.peakRssMB,
      ...(disk === undefined ? {} : { diskMB: disk.bytes / MB, diskEntries: disk.entries }),
    };
    state.last = sample;
    watch.onSample(sample);
    if (state.tripped) return;
    if (rssMB - watch.baselineMB > watch.maxMemoryMB) {
      state.tripped = true;
      watch.onLimit('memory', sample);
    } else if (watch.disk !== undefined && disk !== undefined && (disk.bytes > watch.disk.maxBytes || disk.entries > this.maxWorkspaceEntries)) {
      state.tripped = true;
      watch.onLimit('disk', sample);
    }
  }

  /**
   * The workspace's size: walked now, or — when the last walk was long — its last walk's result
   * until DISK_WALK_SHARE of the time has passed (a workspace of many files is walked less often,
   * never more than the cap's worth of entries at a time).
   */
  private walk(state: WatchState, root: string): DiskUsage {
    const now = performance.now();
    if (state.disk !== undefined && now < state.nextDiskWalkAt) return state.disk;
    state.disk = diskUsage(root, this.maxWorkspaceEntries);
    const took = performance.now() - now;
    state.nextDiskWalkAt = now + took / DISK_WALK_SHARE;
    return state.disk;
  }

  private async readCpu(): Promise<void> {
    try {
      const readings = await this.read([...this.states.keys()]);
      for (const [pid, status] of readings) {
        const state = this.states.get(pid);
        if (state !== undefined) this.judgeCpu(state, status);
      }
    } catch (e) {
      this.logger.warn({ err: e }, 'resource monitor CPU reading failed');
    }
  }

  private async read(pids: number[]): Promise<Map<number, pidusage.Status>> {
    const out = new Map<number, pidusage.Status>();
    try {
      const stats = await pidusage(pids);
      for (const pid of pids) {
        const s = stats[pid];
        if (s !== undefined) out.set(pid, s);
      }
    } catch {
      // One pid exited between ticks: read the others one by one.
      const settled = await Promise.allSettled(pids.map((pid) => pidusage(pid)));
      settled.forEach((r, i) => {
        if (r.status === 'fulfilled') out.set(pids[i]!, r.value);
      });
    }
    return out;
  }

  private cpuOverWindow(state: WatchState, at: number, ctime: number): number | undefined {
    state.history.push({ at, ctime });
    while (state.history.length > 2 && at - state.history[1]!.at >= this.cpuWindowMs) state.history.shift();
    const first = state.history[0]!;
    const span = at - first.at;
    return span >= this.cpuWindowMs ? ((ctime - first.ctime) / span) * 100 : undefined;
  }

  /** A CPU reading of one agent: kept for its next samples, and judged against its cap. */
  private judgeCpu(state: WatchState, status: pidusage.Status): void {
    const { watch } = state;
    state.cpuPercent = status.cpu;
    state.cpuWindowPercent = this.cpuOverWindow(state, status.timestamp, status.ctime);
    if (state.tripped || watch.maxCpuPercent === undefined || state.cpuWindowPercent === undefined || state.cpuWindowPercent <= watch.maxCpuPercent) return;
    state.tripped = true;
    const sample: UsageSample = { ...(state.last ?? { rssMB: 0, peakRssMB: state.peakRssMB }), at: status.timestamp, cpuPercent: state.cpuPercent, cpuWindowPercent: state.cpuWindowPercent };
    watch.onLimit('cpu', sample);
  }
}

export { residentMB } from './usage-probes.js';
