import { describe, expect, it } from 'vitest';
import type { IsolationLevel } from '../src/schemas/common.js';
import type { SecurityConstraints } from '../src/schemas/resources.js';
import type { SubAgentSpecification } from '../src/schemas/spec.js';
import { coversPath, minimalGrants } from '../src/subagent/grants.js';
import { hostCapabilitiesFor } from '../src/subagent/host.js';
import { planLaunch } from '../src/subagent/launch.js';
import type { HostCapabilities, LaunchInput, LaunchPlan } from '../src/subagent/types.js';
import { err, ok } from './helpers.js';

type FsAccess = SecurityConstraints['fileSystemAccess'];
type NetAccess = SecurityConstraints['networkAccessLevel'];

const NODE = '/usr/bin/node';
const BOOTSTRAP = '/opt/qicoord/dist/sandbox/bootstrap.js';
const WORKSPACE = '/tmp/qicoord/agent-1';
const HOSTS = ['api.example.com:443', 'localhost:8080'];
const FORBIDDEN_GRANTS = ['--allow-child-process', '--allow-worker', '--allow-addons', '--allow-wasi'];

interface Case {
  readonly level?: IsolationLevel;
  readonly fs?: FsAccess;
  readonly net?: NetAccess;
  readonly maxMemoryMB?: number;
  readonly host?: Partial<HostCapabilities>;
  readonly input?: Partial<Omit<LaunchInput, 'spec' | 'host'>>;
}

function specFor(level: IsolationLevel, fs: FsAccess, net: NetAccess, maxMemoryMB: number): SubAgentSpecification {
  return {
    agentType: 'basic',
    capabilities: ['echo'],
    resourceLimits: {
      maxMemoryMB,
      maxExecutionTimeMs: 10_000,
      maxConcurrentOperations: 1,
      maxToolCalls: 10,
      allowedNetworkHosts: HOSTS,
      maxFileOperations: 10,
    },
    securityConstraints: {
      sandboxEnabled: level !== 'monitored',
      allowedTools: [],
      prohibitedOperations: [],
      networkAccessLevel: net,
      fileSystemAccess: fs,
      resourceMonitoring: true,
    },
    isolationLevel: level,
    parentAgentId: 'coordinator',
  };
}

function inputFor(c: Case = {}): LaunchInput {
  return {
    spec: specFor(c.level ?? 'restricted', c.fs ?? 'restricted', c.net ?? 'none', c.maxMemoryMB ?? 256),
    host: hostCapabilitiesFor(c.host),
    nodePath: NODE,
    bootstrapPath: BOOTSTRAP,
    runtimeReadPaths: ['/opt/qicoord/dist/sandbox', '/opt/qicoord/dist/src/protocol'],
    pluginReadPaths: ['/opt/plugins/echo', '/opt/qicoord/node_modules/execa'],
    workspace: WORKSPACE,
    extraReadPaths: [],
    extraWritePaths: [],
    env: { PATH: '/usr/bin:/bin', LANG: 'C' },
    networkIsolation: 'auto',
    onUnavailable: 'fail',
    ...c.input,
  };
}

function plan(c: Case = {}): LaunchPlan {
  return ok(planLaunch(inputFor(c)));
}

/** The whole command line, command first. */
function argv(p: LaunchPlan): string[] {
  return [p.command, ...p.args];
}

/** The node flags: everything between the node binary and the bootstrap. */
function nodeFlags(p: LaunchPlan): string[] {
  const line = argv(p);
  return line.slice(line.lastIndexOf(NODE) + 1, line.indexOf(BOOTSTRAP));
}

/** The wrapper part: everything before the node binary. */
function wrappers(p: LaunchPlan): string[] {
  const line = argv(p);
  return line.slice(0, line.lastIndexOf(NODE));
}

const LEVELS: readonly IsolationLevel[] = ['monitored', 'restricted', 'sandbox'];
const FS: readonly FsAccess[] = ['read-only', 'restricted', 'full'];
const NETS: readonly NetAccess[] = ['none', 'restricted', 'full'];
const COMBOS = LEVELS.flatMap((level) => FS.flatMap((fs) => NETS.map((net) => [level, fs, net] as const)));

const EXPECTED_GUARD: Record<IsolationLevel, Record<NetAccess, LaunchPlan['netGuard']['mode']>> = {
  monitored: { none: 'audit', restricted: 'audit', full: 'off' },
  restricted: { none: 'deny-all', restricted: 'deny-all', full: 'off' },
  sandbox: { none: 'deny-all', restricted: 'deny-all', full: 'off' },
};

describe('planLaunch: every isolation level × fileSystemAccess × networkAccessLevel (Node 22 host)', () => {
  it('covers all 27 combinations', () => {
    expect(COMBOS).toHaveLength(27);
  });

  describe.each(COMBOS)('%s / fs %s / net %s', (level, fs, net) => {
    const p = plan({ level, fs, net });
    const flags = nodeFlags(p);
    const enforced = level !== 'monitored';
    const netns = level !== 'monitored' && net !== 'full';

    it('runs the requested level in the workspace, ending with node, flags and the bootstrap', () => {
      expect(p.isolationLevel).toBe(level);
      expect(p.downgradedFrom).toBeUndefined();
      expect(p.cwd).toBe(WORKSPACE);
      expect(p.args.at(-1)).toBe(BOOTSTRAP);
      expect(argv(p)).toContain(NODE);
    });

    it('uses the permission model only when enforcing (no audit flag on Node 22)', () => {
      expect(flags.includes('--permission')).toBe(enforced);
      expect(flags).not.toContain('--experimental-permission');
      expect(flags).not.toContain('--permission-audit');
      expect(flags).not.toContain('--allow-net');
      expect(p.layers.includes('permission-model')).toBe(enforced);
    });

    it('grants the file system per fileSystemAccess', () => {
      const reads = flags.filter((f) => f.startsWith('--allow-fs-read='));
      const writes = flags.filter((f) => f.startsWith('--allow-fs-write='));
      if (!enforced) {
        expect(reads).toEqual([]);
        expect(writes).toEqual([]);
        return;
      }
      if (fs === 'full') {
        expect(reads).toEqual(['--allow-fs-read=*']);
        expect(writes).toEqual(['--allow-fs-write=*']);
        expect(p.layers).toContain('fs:full');
        return;
      }
      expect(reads).toContain(`--allow-fs-read=${WORKSPACE}`);
      expect(reads).toContain('--allow-fs-read=/opt/plugins/echo');
      expect(reads.some((f) => f.includes('*') || f.includes(','))).toBe(false);
      expect(writes).toEqual(fs === 'restricted' ? [`--allow-fs-write=${WORKSPACE}`] : []);
      expect(p.layers).toContain(fs === 'restricted' ? 'fs-write:workspace' : 'fs-write:none');
    });

    it('never grants child processes, workers, addons or wasi', () => {
      for (const forbidden of FORBIDDEN_GRANTS) expect(flags.some((f) => f.startsWith(forbidden))).toBe(false);
    });

    it('caps heap and data segment only when enforcing', () => {
      expect(flags.includes('--max-old-space-size=192')).toBe(enforced);
      expect(wrappers(p).includes('/usr/bin/prlimit')).toBe(enforced);
      expect(p.heapCapMB).toBe(enforced ? 192 : null);
      expect(p.dataCapMB).toBe(enforced ? 312 : null);
    });

    it('runs every level in bubblewrap: a PID namespace that dies with the coordinator', () => {
      expect(p.command).toBe('/usr/bin/bwrap');
      expect(p.args).toEqual(expect.arrayContaining(['--unshare-pid', '--die-with-parent']));
      expect(p.layers).toEqual(expect.arrayContaining(['pidns:bwrap', 'die-with-parent']));
      expect(p.nodePidDiffers).toBe(true);
      // No cgroup was given: the sandbox records the kernel caps it runs without.
      expect(p.missingLayers).toEqual(level === 'sandbox' ? ['cgroup'] : []);
    });

    it('gives enforcing levels the seccomp filter, private /proc and /tmp, and IPC/UTS namespaces', () => {
      expect(p.seccompFilter !== null).toBe(enforced);
      expect(p.args.includes('--seccomp')).toBe(enforced);
      expect(p.args.includes('--unshare-ipc')).toBe(enforced);
      expect(p.layers.includes('seccomp')).toBe(enforced);
      expect(p.layers.includes('disk-watchdog')).toBe(enforced);
    });

    it('sets the net guard mode (allowed hosts only through the fetch tool in a network namespace)', () => {
      expect(p.netGuard.mode).toBe(EXPECTED_GUARD[level][net]);
      expect(p.netGuard.hosts).toEqual(net === 'restricted' ? HOSTS : []);
      const guardLayer = p.layers.find((l) => l.startsWith('net-guard:'));
      expect(guardLayer).toBe(p.netGuard.mode === 'off' ? undefined : `net-guard:${p.netGuard.mode}`);
    });

    it('adds a network namespace for enforcing levels with network none/restricted', () => {
      expect(p.layers.includes('netns:bwrap')).toBe(netns);
      expect(p.args.includes('--unshare-net')).toBe(netns);
    });

    it('always keeps the coordinator-side layers', () => {
      expect(p.layers).toEqual(expect.arrayContaining(['env-scrubbed', 'pidusage-watchdog', 'tool-broker']));
    });
  });
});

const DATA = 312 * 1024 * 1024;
const DISK = 1024 * 1024 * 1024;

describe('planLaunch: exact command lines', () => {
  it('sandbox: bwrap with a minimal view, prlimit, node flags, bootstrap, in that order', () => {
    const p = plan({ level: 'sandbox', fs: 'restricted', net: 'none' });
    expect(argv(p)).toEqual([
      '/usr/bin/bwrap',
      '--unshare-pid', '--unshare-ipc', '--unshare-uts', '--unshare-cgroup-try', '--unshare-net', '--die-with-parent', '--new-session',
      '--symlink', 'usr/lib', '/lib',
      '--symlink', 'usr/lib64', '/lib64',
      '--proc', '/proc',
      '--dev', '/dev',
      '--size', String(DISK), '--perms', '1777', '--tmpfs', '/tmp',
      '--ro-bind', '/opt/qicoord/dist/sandbox', '/opt/qicoord/dist/sandbox',
      '--ro-bind', '/opt/qicoord/dist/src/protocol', '/opt/qicoord/dist/src/protocol',
      '--ro-bind', '/opt/plugins/echo', '/opt/plugins/echo',
      '--ro-bind', '/opt/qicoord/node_modules/execa', '/opt/qicoord/node_modules/execa',
      '--ro-bind', NODE, NODE,
      '--ro-bind', '/usr/bin/setpriv', '/usr/bin/setpriv',
      '--ro-bind', '/usr/bin/prlimit', '/usr/bin/prlimit',
      '--ro-bind', '/usr/lib/x86_64-linux-gnu', '/usr/lib/x86_64-linux-gnu',
      '--ro-bind', '/usr/lib64', '/usr/lib64',
      '--bind', WORKSPACE, WORKSPACE,
      '--chmod', '0755', '/opt', '--chmod', '0755', '/opt/qicoord', '--chmod', '0755', '/opt/qicoord/dist', '--chmod', '0755', '/opt/qicoord/dist/src',
      '--chmod', '0755', '/opt/plugins', '--chmod', '0755', '/opt/qicoord/node_modules',
      '--chmod', '0755', '/usr', '--chmod', '0755', '/usr/bin', '--chmod', '0755', '/usr/lib',
      '--chmod', '0755', '/tmp/qicoord',
      '--seccomp', '4',
      '--chdir', WORKSPACE,
      '--',
      '/usr/bin/prlimit', `--data=${DATA}:${DATA}`, `--fsize=${DISK}:${DISK}`, '--core=0:0', '--',
      NODE,
      '--permission',
      '--allow-fs-read=/opt/qicoord/dist/sandbox',
      '--allow-fs-read=/opt/qicoord/dist/src/protocol',
      '--allow-fs-read=/opt/plugins/echo',
      '--allow-fs-read=/opt/qicoord/node_modules/execa',
      `--allow-fs-read=${WORKSPACE}`,
      `--allow-fs-write=${WORKSPACE}`,
      '--max-old-space-size=192',
      BOOTSTRAP,
    ]);
    expect(p.layers).toEqual([
      'env-scrubbed',
      'pidns:bwrap',
      'mountns:bwrap',
      'ipcns:bwrap',
      'netns:bwrap',
      'fs-view:minimal',
      'private-proc-tmp',
      'die-with-parent',
      'seccomp',
      'permission-model',
      'fs-read:granted',
      'fs-write:workspace',
      'heap-cap:192MB',
      'prlimit-data:312MB',
      'prlimit-fsize:1024MB',
      'net-guard:deny-all',
      'pidusage-watchdog',
      'disk-watchdog',
      'tool-broker',
    ]);
    expect(p.wrapperArgs).toEqual(argv(p).slice(0, argv(p).lastIndexOf(NODE)));
  });

  it('restricted: an empty root with the system folders read-only and the grants; sandbox: the runtime only', () => {
    const restricted = wrappers(plan({ level: 'restricted', input: { workspace: '/var/qicoord/agent-1' } })).join(' ');
    expect(restricted).not.toContain('--ro-bind / /');
    expect(restricted).toContain('--ro-bind /usr /usr');
    expect(restricted).toContain('--ro-bind /etc /etc');
    expect(restricted).toContain('--bind /var/qicoord/agent-1 /var/qicoord/agent-1');
    expect(restricted).toContain('--chmod 0755 /var/qicoord');
    expect(restricted).toContain('--seccomp 4');
    const sandbox = wrappers(plan({ level: 'sandbox' })).join(' ');
    expect(sandbox).not.toContain('--ro-bind / /');
    expect(sandbox).not.toContain('--ro-bind /etc /etc');
    expect(sandbox).toContain('--ro-bind /usr/lib64 /usr/lib64');
  });

  it('a root coordinator: agents drop to the unprivileged identity inside the sandbox; untraversable folders are masked', () => {
    const p = plan({
      level: 'restricted',
      host: { isRoot: true },
      input: { runAs: { uid: 65534, gid: 65534 }, maskedDirs: ['/root'], pluginReadPaths: ['/root/proj/plugins'] },
    });
    const w = wrappers(p);
    const at = w.lastIndexOf('/usr/bin/setpriv');
    expect(w.slice(at, at + 8)).toEqual(['/usr/bin/setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all', '--bounding-set=-all', '--no-new-privs', '--']);
    expect(at).toBeGreaterThan(w.indexOf('--'));
    const line = w.join(' ');
    expect(line).toContain('--tmpfs /root');
    expect(line.indexOf('--tmpfs /root')).toBeLessThan(line.indexOf('--ro-bind /root/proj/plugins /root/proj/plugins'));
    expect(line).toContain('--chmod 0755 /root/proj');
    expect(line).not.toContain('--chmod 0755 /root/proj/plugins');
    expect(p.layers).toEqual(expect.arrayContaining(['uid:65534', 'no-new-privs', 'no-capabilities']));
    expect(p.runAs).toEqual({ uid: 65534, gid: 65534 });
  });

  it('sandbox with a cgroup: the agent joins it before bubblewrap starts; CPU throttled by the kernel', () => {
    const procs = ['/sys/fs/cgroup/memory/q/a1/cgroup.procs', '/sys/fs/cgroup/cpu/q/a1/cgroup.procs'];
    const p = plan({ level: 'sandbox', input: { cgroup: { procsFiles: procs, cpu: true } } });
    expect(argv(p).slice(0, 4)).toEqual([
      '/bin/sh',
      '-c',
      `echo $$ > '${procs[0]}' && echo $$ > '${procs[1]}' && exec "$@"`,
      'qicoord-cgroup',
    ]);
    expect(argv(p)[4]).toBe('/usr/bin/bwrap');
    expect(p.layers).toEqual(expect.arrayContaining(['cgroup:memory', 'cgroup:cpu', 'cgroup:pids']));
    expect(p.missingLayers).toEqual([]);
    // Only sandbox uses it.
    expect(plan({ level: 'restricted', input: { cgroup: { procsFiles: procs, cpu: true } } }).command).toBe('/usr/bin/bwrap');
  });

  it('a root coordinator without setpriv cannot drop privileges: SANDBOX_UNAVAILABLE', () => {
    const e = err(planLaunch(inputFor({ level: 'restricted', host: { isRoot: true, setpriv: null }, input: { runAs: { uid: 65534, gid: 65534 } } })));
    expect(e.code).toBe('SANDBOX_UNAVAILABLE');
    expect(e.context).toMatchObject({ missing: ['setpriv'] });
  });

  it('monitored with no wrappers on the host: command is the node binary', () => {
    const p = plan({ level: 'monitored', host: { setpriv: null, prlimit: null, bwrap: null } });
    expect(p.command).toBe(NODE);
    expect(p.args).toEqual([BOOTSTRAP]);
    expect(p.missingLayers).toEqual(['pidns', 'pdeathsig']);
  });

  it('monitored without bwrap falls back to setpriv --pdeathsig', () => {
    const p = plan({ level: 'monitored', host: { bwrap: null } });
    expect(wrappers(p)).toEqual(['/usr/bin/setpriv', '--pdeathsig', 'KILL', '--']);
    expect(p.layers).toContain('pdeathsig');
  });

  it('fileSystemAccess full binds the root read-write', () => {
    const w = wrappers(plan({ level: 'sandbox', fs: 'full', net: 'none' }));
    expect(w.join(' ')).toContain('--bind / /');
    expect(w).not.toContain('--ro-bind');
  });

  it('read-only workspace is bound read-only under bwrap', () => {
    const w = wrappers(plan({ level: 'sandbox', fs: 'read-only', net: 'none' }));
    expect(w.join(' ')).toContain(`--ro-bind ${WORKSPACE} ${WORKSPACE}`);
    expect(w).not.toContain('--bind');
  });

  it('binds read grants that live under /tmp (bwrap mounts a fresh /tmp)', () => {
    const p = plan({
      level: 'sandbox',
      input: { pluginReadPaths: ['/tmp/plugins/p1'], extraReadPaths: ['/tmp/data'], extraWritePaths: ['/tmp/out'] },
    });
    const line = wrappers(p).join(' ');
    expect(line.indexOf('--tmpfs /tmp')).toBeLessThan(line.indexOf('--ro-bind /tmp/plugins/p1 /tmp/plugins/p1'));
    expect(line).toContain('--ro-bind /tmp/data /tmp/data');
    expect(line).toContain('--bind /tmp/out /tmp/out');
    expect(line).toContain(`--bind ${WORKSPACE} ${WORKSPACE}`);
    expect(line).not.toContain(`--ro-bind ${WORKSPACE} `);
  });

  it("networkIsolation 'unshare' or 'off' cannot give the boundary: SANDBOX_UNAVAILABLE naming bubblewrap", () => {
    for (const networkIsolation of ['unshare', 'off'] as const) {
      const e = err(planLaunch(inputFor({ level: 'restricted', input: { networkIsolation } })));
      expect(e.code).toBe('SANDBOX_UNAVAILABLE');
      expect(e.message).toContain(`networkIsolation is`);
    }
    expect(plan({ level: 'sandbox', input: { networkIsolation: 'bwrap' } }).command).toBe('/usr/bin/bwrap');
  });
});

describe('planLaunch: Node versions', () => {
  it('Node 20 uses --experimental-permission and has no --allow-net or audit', () => {
    const host = { nodeVersion: '20.20.2' };
    expect(nodeFlags(plan({ level: 'restricted', net: 'full', host })).slice(0, 2)).toEqual(['--disable-warning=ExperimentalWarning', '--experimental-permission']);
    expect(nodeFlags(plan({ level: 'restricted', net: 'full', host }))).not.toContain('--allow-net');
    expect(nodeFlags(plan({ level: 'monitored', host }))).toEqual([]);
  });

  it('Node 24 monitored: --permission-audit with the restricted fs grants', () => {
    const p = plan({ level: 'monitored', fs: 'restricted', net: 'none', host: { nodeVersion: '24.21.0' } });
    const flags = nodeFlags(p);
    expect(flags[0]).toBe('--permission-audit');
    expect(flags).not.toContain('--permission');
    expect(flags).toContain(`--allow-fs-read=${WORKSPACE}`);
    expect(flags).toContain(`--allow-fs-write=${WORKSPACE}`);
    expect(flags).not.toContain('--allow-net');
    expect(p.layers).toContain('permission-audit');
    expect(p.layers).not.toContain('permission-model');
    expect(p.heapCapMB).toBeNull();
    expect(wrappers(p)).not.toContain('/usr/bin/prlimit');
  });

  it('Node 24 restricted: --permission, no --allow-net (net not covered)', () => {
    const flags = nodeFlags(plan({ level: 'restricted', net: 'restricted', host: { nodeVersion: '24.21.0' } }));
    expect(flags[0]).toBe('--permission');
    expect(flags).not.toContain('--allow-net');
    expect(flags).not.toContain('--permission-audit');
  });

  it.each([
    ['none', false],
    ['restricted', true],
    ['full', true],
  ] as const)('Node 25 restricted, network %s: --allow-net present = %s', (net, allowNet) => {
    const p = plan({ level: 'restricted', net, host: { nodeVersion: '25.9.0' } });
    expect(nodeFlags(p).includes('--allow-net')).toBe(allowNet);
    expect(p.layers.includes('permission-net:deny')).toBe(!allowNet);
  });

  it('Node 25 monitored audit mirrors --allow-net for allowed networks', () => {
    expect(nodeFlags(plan({ level: 'monitored', net: 'full', host: { nodeVersion: '25.9.0' } }))).toContain('--allow-net');
    expect(nodeFlags(plan({ level: 'monitored', net: 'none', host: { nodeVersion: '25.9.0' } }))).not.toContain('--allow-net');
  });
});

describe('planLaunch: unavailable features', () => {
  it("missing bwrap with onUnavailable 'fail' → SANDBOX_UNAVAILABLE naming the layer and the fix", () => {
    const e = err(planLaunch(inputFor({ level: 'sandbox', host: { bwrap: null} })));
    expect(e.code).toBe('SANDBOX_UNAVAILABLE');
    expect(e.category).toBe('SYSTEM');
    expect(e.message).toContain('OS namespaces');
    expect(e.message).toContain("'sandbox'");
    expect(e.message).toContain('install bubblewrap');
    expect(e.message).toContain('onUnavailable: downgrade');
    expect(e.context).toMatchObject({ missing: ['bwrap'], level: 'sandbox' });
  });

  it("missing bwrap with 'downgrade' → monitored, loudly recorded", () => {
    const p = plan({ level: 'sandbox', host: { bwrap: null}, input: { onUnavailable: 'downgrade' } });
    expect(p.isolationLevel).toBe('monitored');
    expect(p.downgradedFrom).toBe('sandbox');
    expect(p.downgradeReason).toContain('OS namespaces');
    expect(argv(p)).not.toContain('/usr/bin/bwrap');
    expect(p.missingLayers).toEqual(expect.arrayContaining(['bwrap', 'pidns']));
  });

  it('an architecture without a seccomp table cannot run restricted', () => {
    const e = err(planLaunch(inputFor({ level: 'restricted', host: { seccompArch: null } })));
    expect(e.context).toMatchObject({ missing: ['seccomp'] });
  });

  it('no permission model (Node 18) fails restricted, naming the permission model and the Node fix', () => {
    const e = err(planLaunch(inputFor({ level: 'restricted', host: { nodeVersion: '18.20.0' } })));
    expect(e.code).toBe('SANDBOX_UNAVAILABLE');
    expect(e.message).toContain('permission model');
    expect(e.message).toContain('Node ≥ 20');
    expect(e.context).toMatchObject({ missing: ['permission-model'], level: 'restricted' });
  });

  it('no permission model and no bwrap: sandbox downgrades all the way to monitored', () => {
    const p = plan({
      level: 'sandbox',
      host: { nodeVersion: '18.20.0', bwrap: null},
      input: { onUnavailable: 'downgrade' },
    });
    expect(p.isolationLevel).toBe('monitored');
    expect(p.downgradedFrom).toBe('sandbox');
    expect(p.missingLayers).toEqual(expect.arrayContaining(['permission-model', 'bwrap']));
    expect(nodeFlags(p)).toEqual([]);
    expect(p.netGuard.mode).toBe('audit');
  });

  it('missing prlimit is recorded in missingLayers; setpriv is not needed below a non-root coordinator', () => {
    const p = plan({ level: 'restricted', host: { setpriv: null, prlimit: null } });
    expect(p.missingLayers).toEqual(['prlimit']);
    expect(p.command).toBe('/usr/bin/bwrap');
    expect(p.dataCapMB).toBeNull();
    expect(p.heapCapMB).toBe(192);
    expect(p.layers.some((l) => l.startsWith('prlimit-'))).toBe(false);
  });

  it('rejects relative or comma/wildcard grant paths', () => {
    for (const extraReadPaths of [['relative/dir'], ['/a,/etc'], ['/tmp/sb*']]) {
      expect(err(planLaunch(inputFor({ input: { extraReadPaths } }))).code).toBe('INVALID_CONFIG');
    }
  });
});

describe('planLaunch: grants', () => {
  it('dedupes and drops ancestor-covered paths; /tmp/sbx does not cover /tmp/sbx2', () => {
    const p = plan({
      level: 'restricted',
      input: {
        workspace: '/tmp/sbx/ws',
        runtimeReadPaths: ['/tmp/sbx', '/tmp/sbx/', '/tmp/sbx/lib'],
        pluginReadPaths: ['/tmp/sbx2', '/tmp/sbx2/node_modules/dep'],
        extraReadPaths: ['/tmp/sbx2'],
        extraWritePaths: ['/tmp/sbx/ws/out', '/tmp/out'],
      },
    });
    const reads = nodeFlags(p).filter((f) => f.startsWith('--allow-fs-read='));
    const writes = nodeFlags(p).filter((f) => f.startsWith('--allow-fs-write='));
    expect(reads).toEqual(['--allow-fs-read=/opt/qicoord/dist/sandbox', '--allow-fs-read=/tmp/sbx', '--allow-fs-read=/tmp/sbx2']);
    expect(writes).toEqual(['--allow-fs-write=/tmp/sbx/ws', '--allow-fs-write=/tmp/out']);
  });

  it('grants the bootstrap directory (Node 20 needs the entry file readable)', () => {
    const p = plan({ input: { bootstrapPath: '/srv/boot/bootstrap.js', runtimeReadPaths: [] } });
    expect(p.args).toContain('--allow-fs-read=/srv/boot');
  });

  it('coversPath and minimalGrants compare with a trailing separator', () => {
    expect(coversPath('/tmp/sbx', '/tmp/sbx/a')).toBe(true);
    expect(coversPath('/tmp/sbx', '/tmp/sbx2')).toBe(false);
    expect(coversPath('/', '/etc')).toBe(true);
    expect(minimalGrants(['/a/b', '/a', '/a/', '/ab'])).toEqual(['/a', '/ab']);
  });
});

describe('planLaunch: environment', () => {
  it('strips NODE_OPTIONS, NODE_PATH, NODE_CHANNEL_FD, NODE_REPL_EXTERNAL_MODULE and keeps the rest', () => {
    const env = {
      PATH: '/usr/bin',
      NODE_OPTIONS: '--allow-fs-read=*',
      NODE_PATH: '/evil',
      NODE_CHANNEL_FD: '3',
      NODE_REPL_EXTERNAL_MODULE: '/evil.js',
      NODE_EXTRA_CA_CERTS: '/etc/ca.pem',
      API_KEY: 'given-explicitly',
    };
    expect(plan({ input: { env } }).env).toEqual({
      PATH: '/usr/bin',
      NODE_EXTRA_CA_CERTS: '/etc/ca.pem',
      API_KEY: 'given-explicitly',
    });
  });

  it("takes nothing from the test process's own environment", () => {
    process.env['QICOORD_TEST_SECRET'] = 'leak?';
    process.env['NODE_OPTIONS'] = '--allow-fs-read=*';
    try {
      const p = plan({ level: 'sandbox', input: { env: { LANG: 'C' } } });
      expect(p.env).toEqual({ LANG: 'C' });
      expect(argv(p).join(' ')).not.toContain('leak?');
      expect(nodeFlags(p)).not.toContain('--allow-fs-read=*');
    } finally {
      delete process.env['QICOORD_TEST_SECRET'];
      delete process.env['NODE_OPTIONS'];
    }
  });

  it('is pure: the same input gives the same plan', () => {
    const input = inputFor({ level: 'sandbox' });
    expect(planLaunch(input)).toEqual(planLaunch(input));
  });
});

describe('planLaunch: memory caps', () => {
  it.each([
    [256, 192, 312],
    [1024, 768, 1080],
    [100, 75, 156],
    [10, 16, 66],
    [1, 16, 57],
  ])('maxMemoryMB %d → heap %d MB, data %d MB', (maxMemoryMB, heap, data) => {
    const p = plan({ level: 'restricted', maxMemoryMB });
    expect(p.heapCapMB).toBe(heap);
    expect(p.dataCapMB).toBe(data);
    expect(nodeFlags(p)).toContain(`--max-old-space-size=${heap}`);
    expect(p.args).toContain(`--data=${data * 1048576}:${data * 1048576}`);
    expect(p.layers).toEqual(expect.arrayContaining([`heap-cap:${heap}MB`, `prlimit-data:${data}MB`]));
  });

  it('sets the data cap above the Node binary\'s own reservation (Node 24 reserves ~560 MB)', () => {
    const p = plan({ level: 'restricted', maxMemoryMB: 256, host: { nodeVersion: '24.21.0', dataBaselineMB: 560 } });
    expect(p.dataCapMB).toBe(824);
  });
});
