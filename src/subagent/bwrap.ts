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
  readonly workspaceRoot: string;
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

/** The file-system view: the host's root read-only (restricted) or only the runtime (sandbox). */
function fileSystemArgs(view: BwrapView): string[] {
  const { grants, host } = view;
  if (view.level === 'monitored') return ['--bind', '/', '/', '--proc', '/proc', '--dev-bind', '/dev', '/dev'];
  if (grants.full) return ['--bind', '/', '/', '--proc', '/proc', '--dev', '/dev', '--size', String(view.tmpBytes), '--perms', '1777', '--tmpfs', '/tmp'];
  const minimal = view.level === 'sandbox';
  const base = minimal
    ? host.rootSymlinks.flatMap((l) => ['--symlink', l.target, l.path])
    : ['--ro-bind', '/', '/'];
  const reads = minimalGrants([...grants.read, ...view.programFiles, ...(minimal ? host.runtimeLibDirs : [])]).filter(
    (p) => !grants.write.some((w) => coversPath(w, p)),
  );
  // Everything else under the workspace root (other agents' workspaces) is hidden.
  const masks = minimalGrants([...view.maskedDirs, ...(minimal || coversPath('/tmp', view.workspaceRoot) ? [] : [view.workspaceRoot])]);
  const tmpfsRoots = [...(minimal ? ['/'] : []), '/tmp', ...masks];
  const targets = [...reads, ...grants.write];
  return [
    ...base,
    '--proc', '/proc',
    '--dev', '/dev',
    '--size', String(view.tmpBytes), '--perms', '1777', '--tmpfs', '/tmp',
    ...masks.flatMap((m) => ['--tmpfs', m]),
    ...reads.flatMap((p) => ['--ro-bind', p, p]),
    ...grants.write.flatMap((p) => ['--bind', p, p]),
    ...skeletonChmods(tmpfsRoots, targets),
  ];
}

/**
 * The bubblewrap wrapper of one agent, up to and including `--`. Levels:
 * - `monitored`: a PID namespace only (the whole process tree, `setsid` descendants included,
 *   dies with the agent), the host's file system and network as they are.
 * - `restricted`: + IPC, UTS, cgroup and (network 'none'/'restricted') network namespaces, a new
 *   session, the host's root read-only with a private /proc, /dev and size-capped /tmp, every
 *   workspace but the agent's own hidden, the grants bound back in (write grants read-write),
 *   and the seccomp filter.
 * - `sandbox`: + a minimal view: no host root at all, only the runtime (Node binary, its shared
 *   libraries, the wrappers), the grants and a private /tmp.
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
