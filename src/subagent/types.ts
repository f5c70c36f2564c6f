import type { IsolationLevel } from '../schemas/common.js';
import type { SubAgentSpecification } from '../schemas/spec.js';
import type { SeccompArch } from './seccomp.js';
import type { NetGuardPolicy } from '../protocol/messages.js';

export type { NetGuardPolicy };

/** What this host (and the agents' Node binary) can enforce. Detected once per Node binary. */
export interface HostCapabilities {
  /** Version of the Node binary agents run on, e.g. "20.20.2". */
  readonly nodeVersion: string;
  /** The permission-model flag of that binary, or null when it has none. */
  readonly permissionFlag: '--permission' | '--experimental-permission' | null;
  /** Node ≥ 25: the permission model also denies network unless `--allow-net`. */
  readonly permissionCoversNet: boolean;
  /** Node ≥ 24: `--permission-audit` (report, do not deny). */
  readonly permissionAudit: boolean;
  /** Data segment (VmData) of a fresh process of that binary, MB: the kernel data cap is set above it. */
  readonly dataBaselineMB: number;
  /** Absolute paths of usable wrapper programs, or null when missing / not working here. */
  readonly setpriv: string | null;
  readonly prlimit: string | null;
  /** bubblewrap, only if a probe run with --unshare-net succeeded. */
  readonly bwrap: string | null;
  readonly isRoot: boolean;
  /** The seccomp architecture of this host, or null where qicoord has no syscall table for it. */
  readonly seccompArch: SeccompArch | null;
  /**
   * Folders holding the shared libraries of the agents' Node binary and of setpriv/prlimit (and
   * the dynamic loader), real paths: what `sandbox`'s minimal view binds so the runtime starts.
   */
  readonly runtimeLibDirs: readonly string[];
  /**
   * The host's system folders (`/usr`, `/etc`, and `/bin`, `/lib`, … where they are real folders):
   * what `restricted`'s view (and so `execute` there) binds read-only.
   */
  readonly systemDirs: readonly string[];
  /** Top-level symlinks of `/` (merged-usr hosts: `/lib` → `usr/lib`), recreated in the minimal view. */
  readonly rootSymlinks: readonly { readonly path: string; readonly target: string }[];
}

/** The unprivileged identity agents run as when the coordinator is root. */
export interface AgentIdentity {
  readonly uid: number;
  readonly gid: number;
}


/** Everything the launch planner needs; all paths absolute. */
export interface LaunchInput {
  readonly spec: SubAgentSpecification;
  readonly host: HostCapabilities;
  readonly nodePath: string;
  /** The child entry (dist/sandbox/bootstrap.js). */
  readonly bootstrapPath: string;
  /** Dirs the sandbox runtime itself must read (dist/sandbox, dist/src/protocol, …). */
  readonly runtimeReadPaths: readonly string[];
  /** The plugin's own dir and the dirs of the modules it imports. */
  readonly pluginReadPaths: readonly string[];
  /** The agent's workspace directory (exists before the spawn). */
  readonly workspace: string;
  /** Config `sandbox.readPaths` / `writePaths`. */
  readonly extraReadPaths: readonly string[];
  readonly extraWritePaths: readonly string[];
  /** The child's environment, already built from scratch (config passEnv + env). */
  readonly env: Readonly<Record<string, string>>;
  readonly networkIsolation: 'auto' | 'bwrap' | 'unshare' | 'off';
  readonly onUnavailable: 'fail' | 'downgrade';
  /** Who agents run as when the coordinator is root (null otherwise: agents keep its uid). */
  readonly runAs?: AgentIdentity | null;
  /**
   * Ancestors of bound paths that `runAs` cannot traverse (e.g. `/root`): the view covers each with
   * an empty tmpfs and binds the grants back in, so the agent reaches its grants and nothing else
   * under them. Computed by the caller (it needs the file system); empty when `runAs` is null.
   */
  readonly maskedDirs?: readonly string[];
  /**
   * The agent's cgroup (`sandbox`, where the host lets us make one): the `cgroup.procs` files the
   * agent joins before bubblewrap starts, and whether it caps CPU (then CPU is throttled, not killed).
   */
  readonly cgroup?: { readonly procsFiles: readonly string[]; readonly cpu: boolean } | null;
}

/** How to start one SubAgent: the command line and what it enforces. Plain data. */
export interface LaunchPlan {
  readonly command: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly cwd: string;
  /** The level really applied (lower than requested only after a 'downgrade'). */
  readonly isolationLevel: IsolationLevel;
  readonly downgradedFrom?: IsolationLevel;
  /** Why a downgrade happened (missing feature). */
  readonly downgradeReason?: string;
  /** Enforcement layers applied, for doctor/README/audit: e.g. 'permission-model', 'heap-cap:192MB'. */
  readonly layers: readonly string[];
  /** Layers the level wanted but the host lacks (recorded, e.g. 'pdeathsig' without setpriv). */
  readonly missingLayers: readonly string[];
  readonly netGuard: NetGuardPolicy;
  /** V8 heap cap in MB, or null when none. */
  readonly heapCapMB: number | null;
  /** Kernel data-segment cap in MB (prlimit --data), or null when none. */
  readonly dataCapMB: number | null;
  /** True when the node process is not the spawned pid (bwrap): the monitor must find it. */
  readonly nodePidDiffers: boolean;
  /** The seccomp program bubblewrap reads from fd 4 (`--seccomp 4`), or null when none. */
  readonly seccompFilter: Uint8Array | null;
  /** The identity the agent runs as (setpriv inside the sandbox), or null: the coordinator's. */
  readonly runAs: AgentIdentity | null;
  /** Workspace bytes the agent may hold (RLIMIT_FSIZE per file, the private /tmp's size, the disk watchdog). */
  readonly maxDiskBytes: number;
  /**
   * The wrappers around the agent's command, outermost first, up to the Node binary: `execute`
   * puts the same ones around a tool command, so it runs inside the same boundary.
   */
  readonly wrapperArgs: readonly string[];
}
