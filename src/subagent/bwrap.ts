import path from 'node:path';
import type { IsolationLevel } from '../schemas/common.js';
import type { FsGrants } from './grants.js';
import { coversPath, minimalGrants } from './grants.js';
import type { HostCapabilities } from './types.js';

/** The fd bubblewrap reads the seccomp program from (fd 3 is the agent's channel). */
export const SECCOMP_FD = 4;

/** What the bubblewrap command line of one agent is built from. */
export interface BwrapView {
  readonly bwrapPath: string;
  readonly level: IsolationLevel;
  readonly host: HostCapabilities;
  readonly grants: FsGrants;
  readonly workspace: string;
  /** The programs run inside (the Node binary, setpriv, prlimit): bound file by file. */
  readonly programFiles: readonly string[];
  readonly maskedDirs: readonly string[];
  /** A network namespace of its own (network 'none' or 'restricted'). */
  readonly unshareNet: boolean;
  readonly seccomp: boolean;
  /** Size of the private /tmp, bytes. */
  readonly tmpBytes: number;
}

/** Namespaces and process-lifetime flags: every level gets a PID namespace (tree teardown). */
function namespaceArgs(view: BwrapView): string[] {
  if (view.level === 'monitored') return ['--unshare-pid', '--die-with-parent'];
  return [
    '--unshare-pid',
    '--unshare-ipc',
    '--unshare-uts',
    '--unshare-cgroup-try',
    ...(view.unshareNet ? ['--unshare-net'] : []),
    '--die-with-parent',
    '--new-session',
  ];
}

/** The directories between `root` (exclusive) and `target` (exclusive). */
function dirsBetween(root: string, target: string): string[] {
  const dirs: string[] = [];
  for (let dir = path.dirname(target); dir !== root && coversPath(root, dir) && dir !== path.dirname(dir); dir = path.dirname(dir)) dirs.push(dir);
  return dirs.reverse();
}

/**
 * bubblewrap copies the modes of a bind source's parents when it creates the mount points, so a
 * grant under `/root` (0700) would stay unreachable for the agent's uid; the directories it
 * creates inside a tmpfs are opened up (0755: they are empty skeletons). A directory that is
 * itself bound is never touched (chmod there would change the host's folder).
 */
function skeletonChmods(tmpfsRoots: readonly string[], targets: readonly string[]): string[] {
  const dirs = new Set<string>();
  for (const target of targets) {
    const root = tmpfsRoots.find((r) => coversPath(r, target) && r !== target);
    if (root === undefined) continue;
    for (const dir of dirsBetween(root, target)) {
      if (!targets.some((t) => coversPath(t, dir)) && !tmpfsRoots.includes(dir)) dirs.add(dir);
    }
  }
  return [...dirs].flatMap((d) => ['--chmod', '0755', d]);
}

/**
 * The file-system view. Both enforcing levels start from an empty root: `restricted` binds the
 * host's system folders (`/usr`, `/etc`, …: programs and libraries, no home, no /var, no /run, no
 * other workspace) read-only, `sandbox` only the runtime's own libraries; then the programs run
 * inside, the grants (write grants read-write) and a private /proc, /dev and size-capped /tmp.
 */
function fileSystemArgs(view: BwrapView): string[] {
  const { grants, host } = view;
  if (view.level === 'monitored') return ['--bind', '/', '/', '--proc', '/proc', '--dev-bind', '/dev', '/dev'];
  if (grants.full) return ['--bind', '/', '/', '--proc', '/proc', '--dev', '/dev', '--size', String(view.tmpBytes), '--perms', '1777', '--tmpfs', '/tmp'];
  const system = view.level === 'sandbox' ? host.runtimeLibDirs : host.systemDirs;
  const reads = minimalGrants([...grants.read, ...view.programFiles, ...system]).filter((p) => !grants.write.some((w) => coversPath(w, p)));
  const masks = minimalGrants(view.maskedDirs).filter((m) => reads.some((r) => coversPath(m, r) && m !== r) || grants.write.some((w) => coversPath(m, w) && m !== w));
  const tmpfsRoots = ['/', '/tmp', ...masks];
  const underMask = (p: string): boolean => masks.some((m) => coversPath(m, p) && m !== p);
  return [
    ...host.rootSymlinks.flatMap((l) => ['--symlink', l.target, l.path]),
    '--proc', '/proc',
    '--dev', '/dev',
    '--size', String(view.tmpBytes), '--perms', '1777', '--tmpfs', '/tmp',
    // Order matters: a mask covers what was bound before it, so grants under a mask come after it.
    ...reads.filter((p) => !underMask(p)).flatMap((p) => ['--ro-bind', p, p]),
    ...masks.flatMap((m) => ['--tmpfs', m]),
    ...reads.filter(underMask).flatMap((p) => ['--ro-bind', p, p]),
    ...grants.write.flatMap((p) => ['--bind', p, p]),
    ...skeletonChmods(tmpfsRoots, [...reads, ...grants.write]),
  ];
}

/**
 * The bubblewrap wrapper of one agent, up to and including `--`. Levels:
 * - `monitored`: a PID namespace only (the whole process tree, `setsid` descendants included,
 *   dies with the agent), the host's file system and network as they are.
 * - `restricted`: + IPC, UTS, cgroup and (network 'none'/'restricted') network namespaces, a new
 *   session, a view of the system folders and the grants only (see {@link fileSystemArgs}), and
 *   the seccomp filter.
 * - `sandbox`: + a minimal view: only the runtime (Node binary, its shared libraries, the
 *   wrappers), the grants and a private /tmp.
 */
export function bwrapArgs(view: BwrapView): string[] {
  return [
    view.bwrapPath,
    ...namespaceArgs(view),
    ...fileSystemArgs(view),
    ...(view.seccomp ? ['--seccomp', String(SECCOMP_FD)] : []),
    '--chdir', view.workspace,
    '--',
  ];
}
