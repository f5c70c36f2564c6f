import path from 'node:path';
import type { QiError, Result } from '@qi/base';
import { failure, success } from '@qi/base';
import { qiError } from '../errors/catalogue.js';
import type { IsolationLevel } from '../schemas/common.js';
import type { FsGrants } from './grants.js';
import { bwrapArgs } from './bwrap.js';
import { cgroupJoinArgs } from './cgroups.js';
import { fsGrantFlags, fsGrants, invalidGrantPath } from './grants.js';
import { seccompFilter } from './seccomp.js';
import type { LaunchInput, LaunchPlan, NetGuardPolicy } from './types.js';

/** Variables that can change what Node loads or grants; never passed to a SubAgent. */
const STRIPPED_ENV: ReadonlySet<string> = new Set([
  'NODE_OPTIONS',
  'NODE_PATH',
  'NODE_CHANNEL_FD',
  'NODE_REPL_EXTERNAL_MODULE',
]);

/**
 * Kernel data cap = the Node binary's own data segment at start + maxMemoryMB + this slack (malloc
 * arenas), so an allocation past the limit is refused by the kernel with almost no overshoot.
 */
const DATA_CAP_SLACK_MB = 8;

/** Workspace (and private /tmp) size when the spec sets no `maxDiskMB`. */
export const DEFAULT_MAX_DISK_MB = 1024;

/** The next lower level a 'downgrade' falls back to. */
const LOWER: Readonly<Record<IsolationLevel, IsolationLevel | null>> = {
  sandbox: 'restricted',
  restricted: 'monitored',
  monitored: null,
};

/**
 * A feature a level cannot run without: the permission model (inner layer), bubblewrap (PID,
 * mount, IPC and network namespaces: the OS boundary), the seccomp filter (no Unix sockets, no
 * setuid files, no nested user namespaces), setpriv (to drop to an unprivileged uid when the
 * coordinator is root).
 */
type RequiredFeature = 'permission-model' | 'bwrap' | 'seccomp' | 'setpriv';

/** The level actually planned, and why it differs from the requested one. */
interface LevelChoice {
  readonly level: IsolationLevel;
  readonly downgradedFrom?: IsolationLevel;
  readonly downgradeReason?: string;
  readonly lacking: readonly RequiredFeature[];
}

/**
 * Plans the command line of one SubAgent from its spec and the host's capabilities. Pure: no I/O,
 * no `process.env`; the same input always gives the same plan.
 *
 * Wrappers, outermost first: `bwrap … --` (every level where the host has it; see `bwrap.ts` for
 * what each level's namespaces and file-system view are), then inside it `setpriv --reuid … --`
 * (the unprivileged identity, when the coordinator is root), `prlimit --data --fsize --core --`
 * (restricted/sandbox), then `nodePath`, the node flags and `bootstrapPath`. Without bubblewrap
 * (monitored only) `setpriv --pdeathsig KILL --` guards against a dead coordinator instead.
 *
 * `layers` names what is enforced, e.g. `pidns:bwrap`, `netns:bwrap`, `fs-view:minimal`,
 * `seccomp`, `uid:65534`, `permission-model`, `heap-cap:192MB`, `prlimit-data:312MB`,
 * `prlimit-fsize:1024MB`, `net-guard:deny-all`, `pidusage-watchdog`, `disk-watchdog`,
 * `tool-broker`; `missingLayers` what the level wanted but the host lacks.
 *
 * Fails with INVALID_CONFIG for a grant path that is relative or contains `,`/`*`, and with
 * SANDBOX_UNAVAILABLE when a required feature is missing and `onUnavailable` is 'fail'.
 */
export function planLaunch(input: LaunchInput): Result<LaunchPlan, QiError> {
  const badPath = invalidGrantPath(input);
  if (badPath !== undefined) {
    return failure(
      qiError('INVALID_CONFIG', `sandbox grant paths must be absolute and contain no ',' or '*': ${badPath}`, {
        path: badPath,
      }),
    );
  }
  const choice = chooseLevel(input);
  return choice.tag === 'failure' ? choice : success(buildPlan(input, choice.value));
}

function needsNetns(input: LaunchInput): boolean {
  return input.spec.securityConstraints.networkAccessLevel !== 'full';
}

/** bubblewrap when the host has it and the config does not rule it out. */
function usableBwrap(input: LaunchInput): string | null {
  const { networkIsolation } = input;
  return networkIsolation === 'auto' || networkIsolation === 'bwrap' ? input.host.bwrap : null;
}

function missingFeatures(input: LaunchInput, level: IsolationLevel): RequiredFeature[] {
  if (level === 'monitored') return [];
  const missing: RequiredFeature[] = [];
  if (input.host.permissionFlag === null) missing.push('permission-model');
  if (usableBwrap(input) === null) missing.push('bwrap');
  if (input.host.seccompArch === null) missing.push('seccomp');
  if ((input.runAs ?? null) !== null && input.host.setpriv === null) missing.push('setpriv');
  return missing;
}

function describeFeature(input: LaunchInput, feature: RequiredFeature): string {
  switch (feature) {
    case 'permission-model':
      return `the Node permission model (node ${input.host.nodeVersion} at ${input.nodePath} has none)`;
    case 'seccomp':
      return `a seccomp filter (qicoord has no system-call table for this architecture)`;
    case 'setpriv':
      return 'setpriv (util-linux), to run agents as an unprivileged user while the coordinator is root';
    case 'bwrap': {
      const how: Record<LaunchInput['networkIsolation'], string> = {
        auto: 'bubblewrap is missing or cannot create namespaces here',
        bwrap: 'sandbox.networkIsolation is bwrap, but bubblewrap is missing or cannot create namespaces here',
        unshare: "sandbox.networkIsolation is 'unshare', which gives a network namespace only; the boundary needs bubblewrap's PID, mount and network namespaces",
        off: 'sandbox.networkIsolation is off',
      };
      return `OS namespaces (${how[input.networkIsolation]})`;
    }
  }
}

function fixFor(feature: RequiredFeature): string {
  switch (feature) {
    case 'permission-model':
      return 'run agents on Node ≥ 20 (sandbox.nodePath)';
    case 'seccomp':
      return 'run on x86_64 or arm64 Linux';
    case 'setpriv':
      return 'install util-linux (apt-get install util-linux), or run the coordinator as an unprivileged user';
    case 'bwrap':
      return 'install bubblewrap (apt-get install bubblewrap; unprivileged users also need user namespaces enabled) and set sandbox.networkIsolation: auto';
  }
}

function unavailableError(input: LaunchInput, level: IsolationLevel, missing: readonly RequiredFeature[]): QiError {
  const features = missing.map((f) => describeFeature(input, f)).join(' and ');
  const fixes = missing.map(fixFor).join('; ');
  const message =
    `isolationLevel '${level}' needs ${features}, which this host lacks. ` +
    `Fix: ${fixes}; or set sandbox.onUnavailable: downgrade, or pick a lower isolationLevel.`;
  return qiError('SANDBOX_UNAVAILABLE', message, { missing: [...missing], level, nodeVersion: input.host.nodeVersion });
}

function chooseLevel(input: LaunchInput): Result<LevelChoice, QiError> {
  const requested = input.spec.isolationLevel;
  const lacking = new Set<RequiredFeature>();
  let level = requested;
  for (let missing = missingFeatures(input, level); missing.length > 0; missing = missingFeatures(input, level)) {
    const lower = LOWER[level];
    if (input.onUnavailable === 'fail' || lower === null) return failure(unavailableError(input, level, missing));
    for (const feature of missing) lacking.add(feature);
    level = lower;
  }
  if (level === requested) return success({ level, lacking: [] });
  const features = [...lacking].map((f) => describeFeature(input, f)).join(' and ');
  const reason = `${features} unavailable; ran at '${level}' instead of '${requested}'`;
  return success({ level, downgradedFrom: requested, downgradeReason: reason, lacking: [...lacking] });
}

function scrubEnv(env: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter(([key]) => !STRIPPED_ENV.has(key)));
}

function netGuardFor(input: LaunchInput, level: IsolationLevel): NetGuardPolicy {
  const network = input.spec.securityConstraints.networkAccessLevel;
  const hosts = input.spec.resourceLimits.allowedNetworkHosts;
  if (network === 'full') return { mode: 'off', hosts: [] };
  if (level === 'monitored') return { mode: 'audit', hosts: network === 'restricted' ? [...hosts] : [] };
  // Inside its own network namespace the agent reaches nothing directly; allowed hosts go through
  // the coordinator's fetch tool, which the guard's message points to.
  if (usableBwrap(input) !== null) return { mode: 'deny-all', hosts: network === 'restricted' ? [...hosts] : [] };
  return network === 'none' ? { mode: 'deny-all', hosts: [] } : { mode: 'allow-list', hosts: [...hosts] };
}

/** The permission-model flag for the level: enforcing, audit-only (monitored, Node ≥ 24), or none. */
function permissionMode(input: LaunchInput, level: IsolationLevel): string | null {
  if (level !== 'monitored') return input.host.permissionFlag;
  return input.host.permissionAudit ? '--permission-audit' : null;
}

function fsLayers(input: LaunchInput, grants: FsGrants): string[] {
  if (grants.full) return ['fs:full'];
  const readOnly = input.spec.securityConstraints.fileSystemAccess === 'read-only';
  return ['fs-read:granted', readOnly ? 'fs-write:none' : 'fs-write:workspace'];
}

/** Node flags and layers of the permission model (enforcing or audit); none when the level has no model. */
function permissionPart(input: LaunchInput, level: IsolationLevel): { flags: string[]; layers: string[] } {
  const mode = permissionMode(input, level);
  if (mode === null) return { flags: [], layers: [] };
  const grants = fsGrants(input);
  const netAllowed = input.spec.securityConstraints.networkAccessLevel !== 'none';
  const netFlags = input.host.permissionCoversNet && netAllowed ? ['--allow-net'] : [];
  // Node 20's experimental model prints an ExperimentalWarning on every start: noise in the agent's log.
  const quiet = mode === '--experimental-permission' ? ['--disable-warning=ExperimentalWarning'] : [];
  const flags = [...quiet, mode, ...fsGrantFlags(grants), ...netFlags];
  if (level === 'monitored') return { flags, layers: ['permission-audit'] };
  const netLayers = input.host.permissionCoversNet && !netAllowed ? ['permission-net:deny'] : [];
  return { flags, layers: ['permission-model', ...fsLayers(input, grants), ...netLayers] };
}

function memoryCaps(input: LaunchInput, level: IsolationLevel): { heapCapMB: number | null; dataCapMB: number | null } {
  if (level === 'monitored') return { heapCapMB: null, dataCapMB: null };
  const maxMemoryMB = input.spec.resourceLimits.maxMemoryMB;
  const heapCapMB = Math.max(16, Math.round(0.75 * maxMemoryMB));
  const dataCapMB = input.host.prlimit === null ? null : Math.round(input.host.dataBaselineMB + maxMemoryMB + DATA_CAP_SLACK_MB);
  return { heapCapMB, dataCapMB };
}

/** The programs the agent's command runs (node, setpriv, prlimit): bound into the view. */
function programFiles(input: LaunchInput): string[] {
  return [input.nodePath, input.host.setpriv, input.host.prlimit].filter((p): p is string => p !== null && path.isAbsolute(p));
}

function maxDiskBytes(input: LaunchInput): number {
  return Math.round((input.spec.resourceLimits.maxDiskMB ?? DEFAULT_MAX_DISK_MB) * 1024 * 1024);
}

function isolationWrapper(input: LaunchInput, level: IsolationLevel): { args: string[]; layers: string[]; seccomp: boolean } {
  const bwrap = usableBwrap(input);
  if (bwrap === null) return { args: [], layers: [], seccomp: false };
  const enforcing = level !== 'monitored';
  const unshareNet = enforcing && needsNetns(input);
  const seccomp = enforcing && input.host.seccompArch !== null;
  const args = bwrapArgs({
    bwrapPath: bwrap,
    level,
    host: input.host,
    grants: fsGrants(input),
    workspace: input.workspace,
    programFiles: programFiles(input),
    maskedDirs: input.runAs == null ? [] : (input.maskedDirs ?? []),
    unshareNet,
    seccomp,
    tmpBytes: maxDiskBytes(input),
  });
  const layers = enforcing
    ? [
        'pidns:bwrap',
        'mountns:bwrap',
        'ipcns:bwrap',
        ...(unshareNet ? ['netns:bwrap'] : []),
        level === 'sandbox' ? 'fs-view:minimal' : 'fs-view:system',
        'private-proc-tmp',
        'die-with-parent',
        ...(seccomp ? ['seccomp'] : []),
      ]
    : ['pidns:bwrap', 'die-with-parent'];
  return { args, layers, seccomp };
}

interface PlanParts {
  readonly isolation: { args: string[]; layers: string[]; seccomp: boolean };
  readonly permission: { flags: string[]; layers: string[] };
  readonly caps: { heapCapMB: number | null; dataCapMB: number | null };
}

/** `setpriv` inside the sandbox: the unprivileged identity (root coordinator), else the parent-death signal. */
function setprivArgs(input: LaunchInput, level: IsolationLevel, sandboxed: boolean): string[] {
  const { setpriv } = input.host;
  if (setpriv === null) return [];
  if (input.runAs != null && sandboxed && level !== 'monitored') {
    const { uid, gid } = input.runAs;
    return [setpriv, `--reuid=${uid}`, `--regid=${gid}`, '--clear-groups', '--inh-caps=-all', '--bounding-set=-all', '--no-new-privs', '--'];
  }
  return sandboxed ? [] : [setpriv, '--pdeathsig', 'KILL', '--'];
}

/** `prlimit` inside the sandbox: the kernel data cap, the largest file, no core dumps (enforcing levels). */
function prlimitArgs(input: LaunchInput, level: IsolationLevel, dataCapMB: number | null): string[] {
  const { prlimit } = input.host;
  if (prlimit === null || level === 'monitored') return [];
  const dataBytes = (dataCapMB ?? 0) * 1024 * 1024;
  const disk = maxDiskBytes(input);
  return [prlimit, ...(dataCapMB === null ? [] : [`--data=${dataBytes}:${dataBytes}`]), `--fsize=${disk}:${disk}`, '--core=0:0', '--'];
}

/** The wrappers, outermost first, up to (not including) the Node binary. */
function wrapperLine(input: LaunchInput, level: IsolationLevel, parts: PlanParts): string[] {
  const sandboxed = parts.isolation.args.length > 0;
  const cgroup = cgroupFor(input, level);
  return [
    ...(cgroup === null ? [] : cgroupJoinArgs(cgroup.procsFiles)),
    ...parts.isolation.args,
    ...setprivArgs(input, level, sandboxed),
    ...prlimitArgs(input, level, parts.caps.dataCapMB),
  ];
}

/** The agent's cgroup, used at `sandbox` only. */
function cgroupFor(input: LaunchInput, level: IsolationLevel): { procsFiles: readonly string[]; cpu: boolean } | null {
  return level === 'sandbox' && input.cgroup != null && input.cgroup.procsFiles.length > 0 ? input.cgroup : null;
}

/** The full command line: wrappers outermost first, then node, its flags and the bootstrap. */
function commandLine(input: LaunchInput, level: IsolationLevel, parts: PlanParts): string[] {
  const { heapCapMB } = parts.caps;
  return [
    ...wrapperLine(input, level, parts),
    input.nodePath,
    ...parts.permission.flags,
    ...(heapCapMB === null ? [] : [`--max-old-space-size=${heapCapMB}`]),
    input.bootstrapPath,
  ];
}

function planLayers(input: LaunchInput, level: IsolationLevel, parts: PlanParts, netGuard: NetGuardPolicy): string[] {
  const { heapCapMB, dataCapMB } = parts.caps;
  const sandboxed = parts.isolation.args.length > 0;
  const enforcing = level !== 'monitored';
  return [
    'env-scrubbed',
    ...parts.isolation.layers,
    ...(input.runAs != null && sandboxed && level !== 'monitored' && input.host.setpriv !== null ? [`uid:${input.runAs.uid}`, 'no-new-privs', 'no-capabilities'] : []),
    ...(!sandboxed && input.host.setpriv !== null ? ['pdeathsig'] : []),
    ...parts.permission.layers,
    ...cgroupLayers(input, level),
    ...(heapCapMB === null ? [] : [`heap-cap:${heapCapMB}MB`]),
    ...(dataCapMB === null ? [] : [`prlimit-data:${dataCapMB}MB`]),
    ...(enforcing && input.host.prlimit !== null ? [`prlimit-fsize:${Math.round(maxDiskBytes(input) / 1048576)}MB`] : []),
    ...(netGuard.mode === 'off' ? [] : [`net-guard:${netGuard.mode}`]),
    'pidusage-watchdog',
    ...(enforcing ? ['disk-watchdog'] : []),
    'tool-broker',
  ];
}

function cgroupLayers(input: LaunchInput, level: IsolationLevel): string[] {
  const cgroup = cgroupFor(input, level);
  if (cgroup === null) return [];
  return ['cgroup:memory', ...(cgroup.cpu ? ['cgroup:cpu'] : []), 'cgroup:pids'];
}

function missingLayersFor(input: LaunchInput, choice: LevelChoice, parts: PlanParts): string[] {
  const sandboxed = parts.isolation.args.length > 0;
  return [
    ...choice.lacking,
    ...(!sandboxed ? ['pidns'] : []),
    ...(!sandboxed && input.host.setpriv === null ? ['pdeathsig'] : []),
    ...(choice.level !== 'monitored' && input.host.prlimit === null ? ['prlimit'] : []),
    ...(choice.level === 'sandbox' && cgroupFor(input, choice.level) === null ? ['cgroup'] : []),
  ];
}

function buildPlan(input: LaunchInput, choice: LevelChoice): LaunchPlan {
  const { level } = choice;
  const parts: PlanParts = {
    isolation: isolationWrapper(input, level),
    permission: permissionPart(input, level),
    caps: memoryCaps(input, level),
  };
  const netGuard = netGuardFor(input, level);
  const wrappers = wrapperLine(input, level, parts);
  const [command = input.nodePath, ...args] = commandLine(input, level, parts);
  const sandboxed = parts.isolation.args.length > 0;
  return {
    command,
    args,
    env: scrubEnv(input.env),
    cwd: input.workspace,
    isolationLevel: level,
    ...(choice.downgradedFrom === undefined ? {} : { downgradedFrom: choice.downgradedFrom }),
    ...(choice.downgradeReason === undefined ? {} : { downgradeReason: choice.downgradeReason }),
    layers: planLayers(input, level, parts, netGuard),
    missingLayers: missingLayersFor(input, choice, parts),
    netGuard,
    heapCapMB: parts.caps.heapCapMB,
    dataCapMB: parts.caps.dataCapMB,
    nodePidDiffers: sandboxed,
    seccompFilter: parts.isolation.seccomp && input.host.seccompArch !== null ? seccompFilter(input.host.seccompArch) : null,
    runAs: sandboxed && level !== 'monitored' ? (input.runAs ?? null) : null,
    maxDiskBytes: maxDiskBytes(input),
    wrapperArgs: wrappers,
  };
}
