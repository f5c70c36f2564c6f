/**
 * The built-in configuration: what qicoord uses when no `.qicoordrc` is found, and the base every
 * config file is merged over (objects deep-merged, arrays and scalars replaced). The README's
 * "Configuration reference" shows this object; a test checks the two are equal.
 *
 * `"auto"` and `null` values are resolved when the config is loaded:
 * - `resources.maxTotalMemory: "auto"` → half of this machine's total memory, in MB;
 * - `sandbox.workspaceRoot: null` → `<os tmpdir>/qicoord-<uid>` (per user, 0700, refused when owned by another user);
 * - `sandbox.agentUid`/`agentGid: null` → 65534 (`nobody`) when the coordinator runs as root;
 * - `sandbox.nodePath: null` → the Node binary running the coordinator.
 */
export const DEFAULT_CONFIG = {
  plugins: [],
  defaults: {
    agentType: 'basic',
    isolationLevel: 'restricted',
    strategy: {
      type: 'hybrid',
      maxConcurrentAgents: 4,
      failureHandling: 'graceful-degradation',
      communicationProtocol: 'direct',
    },
    resourceLimits: {
      maxMemoryMB: 256,
      maxExecutionTimeMs: 60000,
      maxConcurrentOperations: 4,
      maxToolCalls: 1000,
      allowedNetworkHosts: [],
      maxFileOperations: 1000,
      maxDiskMB: 1024,
    },
    securityConstraints: {
      sandboxEnabled: true,
      allowedTools: ['read', 'list', 'write'],
      prohibitedOperations: [],
      networkAccessLevel: 'none',
      fileSystemAccess: 'restricted',
      resourceMonitoring: true,
    },
  },
  resources: {
    maxTotalMemory: 'auto',
    maxConcurrentAllocations: 16,
    allowSharedResources: true,
  },
  sandbox: {
    workspaceRoot: null,
    keepWorkspace: false,
    readPaths: [],
    writePaths: [],
    networkIsolation: 'auto',
    onUnavailable: 'fail',
    nodePath: null,
    passEnv: [],
    env: {},
    maxMessageBytes: 4194304,
    maxMessagesPerSecond: 20000,
    maxOutputBytes: 1048576,
    agentUid: null,
    agentGid: null,
    killGraceMs: 500,
    maxSubtasksPerAgent: 64,
    maxWorkspaceEntries: 100_000,
  },
  monitor: {
    pollIntervalMs: 100,
    cpuWindowMs: 1000,
  },
  logging: {
    level: 'warn',
    redact: [],
  },
  journal: {
    dir: null,
  },
  probeCache: { file: null },
  delegation: {
    maxDepth: 3,
    maxSubtasks: 200,
  },
  dispatch: {
    prefetch: 32,
  },
  executor: {
    type: 'local',
  },
  pool: {
    enabled: true,
    size: 2,
    maxTotal: 8,
  },
} as const;
