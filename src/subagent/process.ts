import { spawn as spawnChild } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { ChannelHandlers, ChannelLimits } from './channel.js';
import { ParentChannel } from './channel.js';
import { captureOutput } from './output.js';
import type { LaunchPlan } from './types.js';

export interface ExitInfo {
  readonly exitCode: number | null;
  readonly signal: string | null;
  /** Set when the process could not be started at all (e.g. ENOENT). */
  readonly spawnError?: string;
  /** The link lost the agent (a remote worker or its connection gone) instead of seeing it end. */
  readonly lost?: boolean;
}

export interface SpawnOptions {
  readonly agentId: string;
  readonly limits: ChannelLimits;
  readonly maxOutputBytes: number;
  readonly logger: Logger;
  readonly handlers: ChannelHandlers;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms).unref());

/** The node process below a wrapper that forks (bwrap, bwrap's pid-namespace init). */
export function findNodePid(rootPid: number, depth = 4): number {
  let pid = rootPid;
  for (let i = 0; i < depth; i++) {
    try {
      if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'node') return pid;
      const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
      if (children.length === 0) return pid;
      pid = children[0]!;
    } catch {
      return pid;
    }
  }
  return pid;
}

/**
 * One SubAgent OS process: spawned in its own process group from a {@link LaunchPlan},
 * talking over the capped channel on fd 3, its stdout/stderr captured into the log.
 */
export class AgentProcess {
  readonly channel: ParentChannel;
  readonly exited: Promise<ExitInfo>;
  private exitInfo: ExitInfo | undefined;
  /** The last 4 KiB of stderr (even past the output cap): how a V8 heap death is recognized. */
  stderrTail = '';

  private constructor(
    readonly pid: number,
    channelSocket: Duplex,
    done: Promise<ExitInfo>,
    options: SpawnOptions,
  ) {
    this.channel = new ParentChannel(channelSocket, options.agentId, options.limits, options.handlers);
    this.exited = done.then((info) => (this.exitInfo = info));
  }

  /**
   * Starts the process; an {@link ExitInfo} with `spawnError` when it cannot start. Node's own
   * `child_process.spawn`, not execa: a coordinator spawns on every agent start, and execa's
   * module graph alone weighs ~15 MB of resident memory it would carry for its whole life.
   */
  static spawn(plan: LaunchPlan, options: SpawnOptions): AgentProcess | ExitInfo {
    const subprocess = spawnChild(plan.command, [...plan.args], {
      cwd: plan.cwd,
      env: { ...plan.env },
      // fd 3: the channel; fd 4: the seccomp program bubblewrap reads (`--seccomp 4`) and closes.
      stdio: plan.seccompFilter === null ? ['ignore', 'pipe', 'pipe', 'pipe'] : ['ignore', 'pipe', 'pipe', 'pipe', 'pipe'],
      detached: true,
    });
    // Out of descriptors (EMFILE, ENFILE) Node returns before it makes the stdio pipes and
    // reports the errno a tick later; the caller maps this to INSUFFICIENT_RESOURCES.
    const pipes = subprocess.stdio as unknown as readonly unknown[] | null;
    if (pipes == null || pipes.length === 0) {
      subprocess.on('error', () => undefined);
      throw Object.assign(new Error(`spawn ${plan.command} EMFILE`), { code: 'EMFILE' });
    }
    const done = new Promise<ExitInfo>((resolve) => {
      // 'close' comes after the exit and the end of every stdio stream (the stderr tail is whole).
      subprocess.once('close', (code, signal) => resolve({ exitCode: code, signal }));
      subprocess.once('error', (e) => {
        if (subprocess.pid === undefined) resolve({ exitCode: null, signal: null, spawnError: e.message });
      });
    });
    const socket = subprocess.stdio[3] as Duplex | null | undefined;
    if (plan.seccompFilter !== null) {
      const filterPipe = subprocess.stdio[4] as Duplex | null | undefined;
      filterPipe?.on('error', () => undefined);
      filterPipe?.end(Buffer.from(plan.seccompFilter));
    }
    if (subprocess.pid === undefined || socket == null) {
      for (const stream of subprocess.stdio) (stream as Duplex | null)?.destroy();
      return { exitCode: null, signal: null, spawnError: `could not start ${plan.command}` };
    }
    const agentProcess = new AgentProcess(subprocess.pid, socket, done, options);
    captureOutput(subprocess.stdout!, 'stdout', options.maxOutputBytes, options.logger);
    captureOutput(subprocess.stderr!, 'stderr', options.maxOutputBytes, options.logger, (chunk) => {
      agentProcess.stderrTail = (agentProcess.stderrTail + chunk.toString('utf8')).slice(-4096);
    });
    return agentProcess;
  }

  get alive(): boolean {
    return this.exitInfo === undefined;
  }

  /** Signals the whole process group (the agent and anything it started). */
  signalGroup(signal: NodeJS.Signals): void {
    if (!this.alive) return;
    try {
      process.kill(-this.pid, signal);
    } catch {
      try {
        process.kill(this.pid, signal);
      } catch {
        // Already gone.
      }
    }
  }

  private async waitExit(ms: number): Promise<boolean> {
    if (!this.alive) return true;
    await Promise.race([this.exited, sleep(ms)]);
    return !this.alive;
  }

  /**
   * Stops the process and waits for it: the shutdown message (graceful), SIGTERM after
   * `graceMs`, SIGKILL after another `graceMs`. `immediate` goes straight to SIGKILL (a memory
   * bomb must not get a grace period to grow in).
   */
  async stop(reason: string, graceMs: number, immediate = false): Promise<ExitInfo> {
    if (immediate) this.signalGroup('SIGKILL');
    else if (this.alive) {
      this.channel.send({ type: 'shutdown', reason });
      if (!(await this.waitExit(graceMs))) {
        this.signalGroup('SIGTERM');
        if (!(await this.waitExit(graceMs))) this.signalGroup('SIGKILL');
      }
    }
    const info = await this.exited;
    // Anything the agent left in its process group goes too.
    try {
      process.kill(-this.pid, 'SIGKILL');
    } catch {
      // No process left in the group.
    }
    this.channel.close();
    return info;
  }
}
