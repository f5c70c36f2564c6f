import { accessSync, constants, lstatSync, readdirSync, readlinkSync, realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { seccompArchFor } from './seccomp.js';
import type { HostCapabilities } from './types.js';

/** How long one probe run (`bwrap … true`, `setpriv … true`, …) may take before it counts as failed. */
const PROBE_TIMEOUT_MS = 3000;

/** The permission-model features of a Node version. */
export type NodeFeatures = Pick<HostCapabilities, 'permissionFlag' | 'permissionCoversNet' | 'permissionAudit'>;

/**
 * Permission-model features by Node major: ≥ 22 `--permission`, 20/21 `--experimental-permission`,
 * older (or unparsable) none; `--allow-net` from 25, `--permission-audit` from 24.
 */
export function nodeFeatures(version: string): NodeFeatures {
  const match = /^v?(\d+)\./.exec(version.trim());
  const major = match?.[1] === undefined ? 0 : Number(match[1]);
  const permissionFlag = major >= 22 ? '--permission' : major >= 20 ? '--experimental-permission' : null;
  return { permissionFlag, permissionCoversNet: major >= 25, permissionAudit: major >= 24 };
}

/**
 * A HostCapabilities for tests: a fully equipped Node 22 Linux host (setpriv, prlimit, bwrap,
 * not root) unless overridden. Overriding `nodeVersion` derives the permission
 * fields from it; any field given explicitly wins.
 */
export function hostCapabilitiesFor(overrides: Partial<HostCapabilities> = {}): HostCapabilities {
  const nodeVersion = overrides.nodeVersion ?? '22.22.2';
  return {
    nodeVersion,
    ...nodeFeatures(nodeVersion),
    dataBaselineMB: 48,
    setpriv: '/usr/bin/setpriv',
    prlimit: '/usr/bin/prlimit',
    bwrap: '/usr/bin/bwrap',
    isRoot: false,
    seccompArch: 'x86_64',
    runtimeLibDirs: ['/usr/lib/x86_64-linux-gnu', '/usr/lib64'],
    systemDirs: ['/usr', '/etc'],
    rootSymlinks: [{ path: '/lib', target: 'usr/lib' }, { path: '/lib64', target: 'usr/lib64' }],
    ...overrides,
  };
}

function isExecutableFile(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

/** The absolute path of the first executable `name` in the directories of `pathValue` (a PATH string), or null. */
export function findExecutable(name: string, pathValue: string = process.env['PATH'] ?? ''): string | null {
  for (const dir of pathValue.split(path.delimiter)) {
    if (dir === '' || !path.isAbsolute(dir)) continue;
    const file = path.join(dir, name);
    if (isExecutableFile(file)) return file;
  }
  return null;
}

/**
 * Runs a probe program with an environment of PATH only and no input; its exit code (null when
 * it could not start or was killed) and stdout. Node's `execFile`, not execa: every agent start
 * probes the host once, and execa's module graph would stay in the coordinator for good.
 */
function runProbe(file: string, args: readonly string[], pathValue: string, timeoutMs: number): Promise<{ exitCode: number | null; stdout: string; timedOut: boolean }> {
  return new Promise((resolve) => {
    const child = execFile(file, [...args], { env: { PATH: pathValue }, timeout: timeoutMs, maxBuffer: 1024 * 1024, encoding: 'utf8' }, (error, stdout) => {
      const exitCode = error === null ? 0 : typeof error.code === 'number' ? error.code : null;
      resolve({ exitCode, stdout, timedOut: error?.killed === true });
    });
    // No input: stdin is closed at once (a program that is gone may refuse even that).
    child.stdin?.on('error', () => undefined);
    child.stdin?.end();
  });
}

/** Runs a probe command with an environment of PATH only; true when it exits 0 within the timeout. */
async function probe(file: string, args: readonly string[], pathValue: string): Promise<boolean> {
  const result = await runProbe(file, args, pathValue, PROBE_TIMEOUT_MS);
  return result.exitCode === 0 && !result.timedOut;
}

/** The program's path when it is on PATH and `args` (the probe) run successfully with it, else null. */
async function workingProgram(name: string, args: readonly string[], pathValue: string): Promise<string | null> {
  const file = findExecutable(name, pathValue);
  if (file === null) return null;
  return (await probe(file, args, pathValue)) ? file : null;
}

/** Prints the version and the data segment (VmData, kB) of a fresh Node process. */
const NODE_PROBE = "const m=/VmData:\\s*(\\d+)/.exec(require('fs').readFileSync('/proc/self/status','utf8'));console.log(process.version, m ? m[1] : 0)";

/**
 * The version of the agents' Node binary and its data segment right after start (MB). Newer
 * Node reserves hundreds of MB of address space at start (V8's code range: ~560 MB VmData on
 * Node 24, ~48 MB on Node 20), which RLIMIT_DATA counts, so the kernel data cap is set above it.
 */
async function nodeFacts(nodePath: string, pathValue: string): Promise<{ nodeVersion: string; dataBaselineMB: number }> {
  const result = await runProbe(nodePath, ['-e', NODE_PROBE], pathValue, 10_000);
  const [version, dataKb] = result.stdout.trim().split(' ');
  if (result.exitCode !== 0 || version === undefined || version === '') return { nodeVersion: 'unknown', dataBaselineMB: 0 };
  return { nodeVersion: version.replace(/^v/, ''), dataBaselineMB: Math.ceil(Number(dataKb ?? 0) / 1024) };
}

/**
 * The namespaces every enforcing level asks bubblewrap for, with a private /proc: the probe that
 * decides whether bubblewrap "works here" (an unprivileged user needs user namespaces for it).
 */
const BWRAP_PROBE = ['--unshare-pid', '--unshare-ipc', '--unshare-uts', '--unshare-net', '--die-with-parent', '--new-session', '--ro-bind', '/', '/', '--proc', '/proc', '--dev', '/dev', 'true'];

/** The files a program loads (its ELF interpreter and shared libraries), from `ldd`. */
async function sharedLibraries(program: string, pathValue: string): Promise<string[]> {
  const ldd = findExecutable('ldd', pathValue);
  if (ldd === null) return [];
  const out = (await runProbe(ldd, [program], pathValue, PROBE_TIMEOUT_MS)).stdout;
  return [...out.matchAll(/(\/[^\s)]+)/g)].map((m) => m[1]!).filter((p) => p !== program);
}

/** The real folders of `files` and of their links: what a minimal view must bind for them to load. */
function realDirs(files: readonly string[]): string[] {
  const dirs = new Set<string>();
  for (const file of files) {
    try {
      dirs.add(realpathSync(path.dirname(file)));
      dirs.add(path.dirname(realpathSync(file)));
    } catch {
      // A library ldd named but that is gone: nothing to bind.
    }
  }
  return [...dirs];
}

/** Candidate system folders; those that exist as real folders (not symlinks) are bound at `restricted`. */
const SYSTEM_DIRS = ['/usr', '/etc', '/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32', '/opt'];

function systemDirs(): string[] {
  return SYSTEM_DIRS.filter((dir) => {
    try {
      return lstatSync(dir).isDirectory();
    } catch {
      return false;
    }
  });
}

/** Symlinks directly under `/` (`/lib` → `usr/lib` on merged-usr hosts). */
function rootSymlinks(): { path: string; target: string }[] {
  try {
    return readdirSync('/', { withFileTypes: true })
      .filter((e) => e.isSymbolicLink())
      .map((e) => ({ path: `/${e.name}`, target: readlinkSync(`/${e.name}`) }));
  } catch {
    return [];
  }
}

async function probeHost(nodePath: string): Promise<HostCapabilities> {
  const pathValue = process.env['PATH'] ?? '';
  const [{ nodeVersion, dataBaselineMB }, setpriv, prlimit, bwrap] = await Promise.all([
    nodeFacts(nodePath, pathValue),
    workingProgram('setpriv', ['--pdeathsig', 'KILL', 'true'], pathValue),
    workingProgram('prlimit', ['--data=1073741824:1073741824', 'true'], pathValue),
    workingProgram('bwrap', BWRAP_PROBE, pathValue),
  ]);
  const programs = [nodePath, setpriv, prlimit].filter((p): p is string => p !== null);
  const libraries = (await Promise.all(programs.map((p) => sharedLibraries(p, pathValue)))).flat();
  return {
    nodeVersion,
    ...nodeFeatures(nodeVersion),
    dataBaselineMB,
    setpriv,
    prlimit,
    bwrap,
    isRoot: process.getuid?.() === 0,
    seccompArch: seccompArchFor(process.arch),
    runtimeLibDirs: realDirs(libraries),
    systemDirs: systemDirs(),
    rootSymlinks: rootSymlinks(),
  };
}

const detected = new Map<string, Promise<HostCapabilities>>();

/**
 * What this host can enforce for agents run on `nodePath`: the Node binary's permission-model
 * flags (from `nodePath --version`) and which wrappers (setpriv, prlimit, bwrap) are on
 * PATH and pass a probe run. Detected once per `nodePath`; later calls return the same promise.
 */
export function detectHost(nodePath: string): Promise<HostCapabilities> {
  const known = detected.get(nodePath);
  if (known !== undefined) return known;
  const pending = probeHost(nodePath);
  detected.set(nodePath, pending);
  pending.catch(() => detected.delete(nodePath)); // a failed detection is retried on the next call
  return pending;
}
