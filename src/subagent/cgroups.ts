import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * Kernel caps on memory, CPU and process count for `sandbox` agents, through cgroups where the
 * host lets this process create them (root, or a delegated subtree). Both hierarchies are handled:
 * cgroup v2 (one unified tree, `memory.max`, `cpu.max`, `pids.max`) and v1 (one tree per controller,
 * `memory.limit_in_bytes`, `cpu.cfs_quota_us`, `pids.max`). Agent cgroups live under the
 * coordinator's own cgroup, in `qicoord-<pid>`, and are removed when the agent ends.
 */

export type CgroupController = 'memory' | 'cpu' | 'pids';

/** Where agent cgroups can be made on this host, per controller (one folder for v2). */
export interface CgroupHost {
  readonly version: 1 | 2;
  /** The folder under which each agent's cgroup is created, per controller. */
  readonly parents: Readonly<Record<CgroupController, string>>;
}

/** The limits one agent's cgroup enforces. */
export interface CgroupLimits {
  readonly memoryBytes: number;
  /** CPU cap in percent of one core (`maxCpuPercent`), or undefined: no cap. */
  readonly cpuPercent?: number | undefined;
  readonly maxPids: number;
}

const ROOT = '/sys/fs/cgroup';
const CONTROLLERS: readonly CgroupController[] = ['memory', 'cpu', 'pids'];
const CPU_PERIOD_US = 100_000;
/** How often, and how long apart, removing a cgroup whose last process is still exiting is tried. */
const REMOVE_ATTEMPTS = 50;
const REMOVE_RETRY_MS = 20;

/** This process's cgroup path per v1 controller, and its v2 path (`0::/…`), from /proc/self/cgroup. */
function ownCgroups(): { v1: Map<string, string>; v2: string | undefined } {
  const v1 = new Map<string, string>();
  let v2: string | undefined;
  let text = '';
  try {
    text = readFileSync('/proc/self/cgroup', 'utf8');
  } catch {
    return { v1, v2 };
  }
  for (const line of text.trim().split('\n')) {
    const [, controllers = '', where = '/'] = line.split(':');
    if (controllers === '') v2 = where;
    for (const c of controllers.split(',')) if (c !== '') v1.set(c, where);
  }
  return { v1, v2 };
}

/**
 * Removes `qicoord-<pid>` cgroups left in `dir` by coordinators that died (SIGKILL skips close()):
 * their agents died with them (PID namespaces), so the folders are empty and rmdir works.
 */
function removeStale(dir: string): void {
  let names: string[] = [];
  try {
    names = readdirSync(dir).filter((n) => /^qicoord-\d+$/.test(n) && n !== `qicoord-${process.pid}`);
  } catch {
    return;
  }
  for (const name of names) {
    if (existsSync(`/proc/${name.slice('qicoord-'.length)}`)) continue;
    const parent = path.join(dir, name);
    try {
      for (const child of readdirSync(parent, { withFileTypes: true })) if (child.isDirectory()) rmdirSync(path.join(parent, child.name));
      rmdirSync(parent);
    } catch {
      // Still in use, or not ours to remove.
    }
  }
}

/** True when a cgroup can be made (and removed again) in `dir`. */
function canCreateIn(dir: string): boolean {
  const probe = path.join(dir, `qicoord-probe-${process.pid}`);
  try {
    mkdirSync(probe);
    rmdirSync(probe);
    return true;
  } catch {
    return false;
  }
}

function detectV2(own: string | undefined): CgroupHost | null {
  if (own === undefined || !existsSync(path.join(ROOT, 'cgroup.controllers'))) return null;
  const base = path.join(ROOT, own, `qicoord-${process.pid}`);
  removeStale(path.join(ROOT, own));
  try {
    const available = readFileSync(path.join(ROOT, own, 'cgroup.controllers'), 'utf8').split(/\s+/);
    if (!CONTROLLERS.every((c) => available.includes(c))) return null;
    mkdirSync(base, { recursive: true });
    writeFileSync(path.join(base, 'cgroup.subtree_control'), '+memory +cpu +pids');
  } catch {
    return null;
  }
  return { version: 2, parents: { memory: base, cpu: base, pids: base } };
}

function detectV1(own: Map<string, string>): CgroupHost | null {
  const parents = {} as Record<CgroupController, string>;
  for (const controller of CONTROLLERS) {
    const mount = path.join(ROOT, controller);
    const where = own.get(controller);
    if (where === undefined || !existsSync(path.join(mount, 'cgroup.procs'))) return null;
    const dir = path.join(mount, where);
    if (!canCreateIn(dir)) return null;
    removeStale(dir);
    parents[controller] = path.join(dir, `qicoord-${process.pid}`);
  }
  return { version: 1, parents };
}

/**
 * The cgroups this process may create for agents, or null (not root and not delegated, no
 * memory/cpu/pids controllers, or a read-only cgroup file system).
 */
export function detectCgroups(): CgroupHost | null {
  const own = ownCgroups();
  return detectV2(own.v2) ?? detectV1(own.v1);
}

function write(dir: string, file: string, value: string): void {
  writeFileSync(path.join(dir, file), value);
}

/** One agent's cgroup (a folder per controller under v1, one folder under v2). */
export class AgentCgroup {
  private constructor(
    private readonly host: CgroupHost,
    private readonly dirs: Readonly<Record<CgroupController, string>>,
  ) {}

  /** Creates the agent's cgroup with its limits; an Error when the kernel refuses. */
  static create(host: CgroupHost, name: string, limits: CgroupLimits): AgentCgroup | Error {
    const dirs = Object.fromEntries(CONTROLLERS.map((c) => [c, path.join(host.parents[c], name)])) as Record<CgroupController, string>;
    const cgroup = new AgentCgroup(host, dirs);
    try {
      for (const dir of new Set(Object.values(dirs))) mkdirSync(dir, { recursive: true });
      cgroup.applyLimits(limits);
      return cgroup;
    } catch (e) {
      void cgroup.remove();
      return e instanceof Error ? e : new Error(String(e));
    }
  }

  private applyLimits(limits: CgroupLimits): void {
    const { memory, cpu, pids } = this.dirs;
    const quota = limits.cpuPercent === undefined ? undefined : Math.max(1000, Math.round((limits.cpuPercent / 100) * CPU_PERIOD_US));
    if (this.host.version === 2) {
      write(memory, 'memory.max', String(limits.memoryBytes));
      write(memory, 'memory.swap.max', '0');
      if (quota !== undefined) write(cpu, 'cpu.max', `${quota} ${CPU_PERIOD_US}`);
      write(pids, 'pids.max', String(limits.maxPids));
      return;
    }
    write(memory, 'memory.limit_in_bytes', String(limits.memoryBytes));
    if (existsSync(path.join(memory, 'memory.memsw.limit_in_bytes'))) write(memory, 'memory.memsw.limit_in_bytes', String(limits.memoryBytes));
    if (quota !== undefined) {
      write(cpu, 'cpu.cfs_period_us', String(CPU_PERIOD_US));
      write(cpu, 'cpu.cfs_quota_us', String(quota));
    }
    write(pids, 'pids.max', String(limits.maxPids));
  }

  /** The `cgroup.procs` files a process writes its pid to, to join (one per hierarchy). */
  get procsFiles(): string[] {
    return [...new Set(Object.values(this.dirs))].map((d) => path.join(d, 'cgroup.procs'));
  }

  /** True when the kernel's OOM killer killed a process of this cgroup. */
  oomKilled(): boolean {
    const file = this.host.version === 2 ? 'memory.events' : 'memory.oom_control';
    try {
      const m = /oom_kill (\d+)/.exec(readFileSync(path.join(this.dirs.memory, file), 'utf8'));
      return m !== null && Number(m[1]) > 0;
    } catch {
      return false;
    }
  }

  /** Pids still in the cgroup (a process that escaped the agent's own teardown). */
  members(): number[] {
    const pids = new Set<number>();
    for (const file of this.procsFiles) {
      try {
        for (const p of readFileSync(file, 'utf8').split('\n')) if (p !== '') pids.add(Number(p));
      } catch {
        // Removed already.
      }
    }
    return [...pids];
  }

  /**
   * Kills whatever is left in it and removes it. A killed process leaves its cgroup only once the
   * kernel has reaped it, so removal is retried for a short while; resolves true once gone.
   */
  async remove(): Promise<boolean> {
    for (let attempt = 0; attempt < REMOVE_ATTEMPTS; attempt++) {
      for (const pid of this.members()) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // Gone.
        }
      }
      if (this.removeDirs()) return true;
      await new Promise((r) => setTimeout(r, REMOVE_RETRY_MS).unref());
    }
    return false;
  }

  private removeDirs(): boolean {
    let all = true;
    for (const dir of new Set(Object.values(this.dirs))) {
      try {
        rmdirSync(dir);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') all = false;
      }
    }
    return all;
  }
}

/** The joining wrapper: a shell that writes its own pid to each `cgroup.procs`, then execs the command. */
export function cgroupJoinArgs(procsFiles: readonly string[]): string[] {
  const joins = procsFiles.map((f) => `echo $$ > '${f.replace(/'/g, "'\\''")}'`).join(' && ');
  return ['/bin/sh', '-c', `${joins} && exec "$@"`, 'qicoord-cgroup'];
}

/** Removes the coordinator's `qicoord-<pid>` parents (at close, once every agent cgroup is gone). */
export function removeCgroupParents(host: CgroupHost): void {
  for (const dir of new Set(Object.values(host.parents))) {
    try {
      rmdirSync(dir);
    } catch {
      // Still has members, or never created.
    }
  }
}
