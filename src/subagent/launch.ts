import type { QiError, Result } from '@qi/base';
import { failure, success } from '@qi/base';
import { qiError } from '../errors/catalogue.js';
import type { IsolationLevel } from '../schemas/common.js';
import type { FsGrants } from './grants.js';
import { bwrapWrapper, fsGrantFlags, fsGrants, invalidGrantPath } from './grants.js';
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

/** The next lower level a 'downgrade' falls back to. */
const LOWER: Readonly<Record<IsolationLevel, IsolationLevel | null>> = {
  sandbox: 'restricted',
  restricted: 'monitored',
  monitored: null,
};

/** A feature a level cannot run without. */
type RequiredFeature = 'permission-model' | 'netns';
type NetnsMethod = 'bwrap' | 'unshare';

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
 * Wrappers, outermost first: `[bwrap … --]` or `[unshare -n|-rn --]` (sandbox, network none/restricted),
 * `setpriv --pdeathsig KILL --` (every level, when the host has it), `prlimit --data=B:B --`
 * (restricted/sandbox), then `nodePath`, the node flags and `bootstrapPath`.
 *
 * `layers` may contain, in this order:
 * - `env-scrubbed`: env is exactly `input.env` minus NODE_OPTIONS, NODE_PATH, NODE_CHANNEL_FD and
 *   NODE_REPL_EXTERNAL_MODULE (a NODE_OPTIONS can widen the permission grants)
 * - `netns:bwrap`, `pidns:bwrap`, `die-with-parent` | `netns:unshare`: OS isolation (sandbox)
 * - `pdeathsig`: setpriv kills the agent when the coordinator dies
 * - `permission-model` (enforcing) | `permission-audit` (monitored on Node ≥ 24: reports only)
 * - `fs:full` | `fs-read:granted` plus `fs-write:workspace` | `fs-write:none` (enforcing levels)
 * - `permission-net:deny`: Node ≥ 25 without `--allow-net` (network 'none', enforcing levels)
 * - `heap-cap:<N>MB`, `prlimit-data:<N>MB`: memory caps (restricted/sandbox)
 * - `net-guard:audit` | `net-guard:deny-all` | `net-guard:allow-list`: the preload guard (absent when off)
 * - `pidusage-watchdog`, `tool-broker`: always, coordinator-side
 *
 * `missingLayers` may contain `pdeathsig` (no setpriv), `prlimit-data` (no prlimit), and after a
 * downgrade the required features that were missing: `permission-model`, `netns`.
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

function netnsMethod(input: LaunchInput): NetnsMethod | null {
  const { host, networkIsolation } = input;
  if (networkIsolation === 'off') return null;
  if (networkIsolation === 'bwrap') return host.bwrap === null ? null : 'bwrap';
  if (networkIsolation === 'unshare') return host.unshare === null ? null : 'unshare';
  if (host.bwrap !== null) return 'bwrap';
  return host.unshare === null ? null : 'unshare';
}

function missingFeatures(input: LaunchInput, level: IsolationLevel): RequiredFeature[] {
  const missing: RequiredFeature[] = [];
  if (level !== 'monitored' && input.host.permissionFlag === null) missing.push('permission-model');
  if (level === 'sandbox' && needsNetns(input) && netnsMethod(input) === null) missing.push('netns');
  return missing;
}

function describeFeature(input: LaunchInput, feature: RequiredFeature): string {
  if (feature === 'permission-model') {
    return `the Node permission model (node ${input.host.nodeVersion} at ${input.nodePath} has none)`;
  }
  const how: Record<LaunchInput['networkIsolation'], string> = {
    auto: 'neither a working bubblewrap nor `unshare -n` was found',
    bwrap: 'sandbox.networkIsolation is bwrap, but bubblewrap is missing or does not work here',
    unshare: 'sandbox.networkIsolation is unshare, but `unshare -n` does not work here',
    off: 'sandbox.networkIsolation is off',
  };
  return `OS network isolation (${how[input.networkIsolation]})`;
}

function fixFor(feature: RequiredFeature): string {
  return feature === 'permission-model'
    ? 'run agents on Node ≥ 20 (sandbox.nodePath)'
    : 'install bubblewrap (or allow user namespaces for unshare) and set sandbox.networkIsolation: auto';
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

function isolationWrapper(input: LaunchInput, level: IsolationLevel): { args: string[]; layers: string[] } {
  const method = level === 'sandbox' && needsNetns(input) ? netnsMethod(input) : null;
  const { bwrap, unshare, unshareArgs } = input.host;
  if (method === 'bwrap' && bwrap !== null) {
    return {
      args: bwrapWrapper(bwrap, fsGrants(input), input.workspace, input.nodePath),
      layers: ['netns:bwrap', 'pidns:bwrap', 'die-with-parent'],
    };
  }
  if (method === 'unshare' && unshare !== null) {
    return { args: [unshare, ...unshareArgs, '--'], layers: ['netns:unshare'] };
  }
  return { args: [], layers: [] };
}

interface PlanParts {
  readonly isolation: { args: string[]; layers: string[] };
  readonly permission: { flags: string[]; layers: string[] };
  readonly caps: { heapCapMB: number | null; dataCapMB: number | null };
}

/** The full command line: wrappers outermost first, then node, its flags and the bootstrap. */
function commandLine(input: LaunchInput, parts: PlanParts): string[] {
  const { setpriv, prlimit } = input.host;
  const { dataCapMB, heapCapMB } = parts.caps;
  const dataBytes = (dataCapMB ?? 0) * 1024 * 1024;
  return [
    ...parts.isolation.args,
    ...(setpriv === null ? [] : [setpriv, '--pdeathsig', 'KILL', '--']),
    ...(prlimit === null || dataCapMB === null ? [] : [prlimit, `--data=${dataBytes}:${dataBytes}`, '--']),
    input.nodePath,
    ...parts.permission.flags,
    ...(heapCapMB === null ? [] : [`--max-old-space-size=${heapCapMB}`]),
    input.bootstrapPath,
  ];
}

function planLayers(input: LaunchInput, parts: PlanParts, netGuard: NetGuardPolicy): string[] {
  const { heapCapMB, dataCapMB } = parts.caps;
  return [
    'env-scrubbed',
    ...parts.isolation.layers,
    ...(input.host.setpriv === null ? [] : ['pdeathsig']),
    ...parts.permission.layers,
    ...(heapCapMB === null ? [] : [`heap-cap:${heapCapMB}MB`]),
    ...(dataCapMB === null ? [] : [`prlimit-data:${dataCapMB}MB`]),
    ...(netGuard.mode === 'off' ? [] : [`net-guard:${netGuard.mode}`]),
    'pidusage-watchdog',
    'tool-broker',
  ];
}

function missingLayersFor(input: LaunchInput, choice: LevelChoice): string[] {
  return [
    ...choice.lacking,
    ...(input.host.setpriv === null ? ['pdeathsig'] : []),
    ...(choice.level !== 'monitored' && input.host.prlimit === null ? ['prlimit-data'] : []),
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
  const [command = input.nodePath, ...args] = commandLine(input, parts);
  return {
    command,
    args,
    env: scrubEnv(input.env),
    cwd: input.workspace,
    isolationLevel: level,
    ...(choice.downgradedFrom === undefined ? {} : { downgradedFrom: choice.downgradedFrom }),
    ...(choice.downgradeReason === undefined ? {} : { downgradeReason: choice.downgradeReason }),
    layers: planLayers(input, parts, netGuard),
    missingLayers: missingLayersFor(input, choice),
    netGuard,
    heapCapMB: parts.caps.heapCapMB,
    dataCapMB: parts.caps.dataCapMB,
    nodePidDiffers: parts.isolation.layers.includes('netns:bwrap'),
  };
}
