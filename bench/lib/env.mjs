/**
 * The bench's environment: a temporary workspace root, a resolved config (silent logs, no warm
 * pool unless asked), agent specifications for the fixture plugins, and the like-for-like launch
 * of a bare baseline child — the same wrappers (setpriv, prlimit), node flags (permission model,
 * grants, heap cap) and environment as a SubAgent of the same specification, computed by the
 * same `planLaunch` the factory uses; only the script differs.
 */
import { fork } from 'node:child_process';
import { chownSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { resolveConfig } from '../../dist/src/index.js';
import { createRootLogger } from '../../dist/src/logging/logger.js';
import { detectHost } from '../../dist/src/subagent/host.js';
import { planLaunch } from '../../dist/src/subagent/launch.js';
import { SubAgentFactory } from '../../dist/src/subagent/factory.js';
import { SubTask } from '../../dist/src/schemas/index.js';
// Not part of the public API: the runtime paths and the env builder the factory itself uses,
// imported so the baseline's command line cannot drift from an agent's.
import { buildAgentEnv } from '../../dist/src/subagent/env.js';
import { agentIdentity } from '../../dist/src/subagent/identity.js';
import { RUNTIME } from '../../dist/src/subagent/package-root.js';
import { pluginReadPaths } from '../../dist/src/subagent/plugin-source.js';

export const BENCH_DIR = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
export const FIXTURES = path.join(BENCH_DIR, 'fixtures');
export const fixture = (name) => path.join(FIXTURES, name);

/** A fresh temporary directory (real path: grants are compared after symlinks). */
export function tempDir(prefix) {
  return realpathSync(mkdtempSync(path.join(os.tmpdir(), prefix)));
}

const ROOT = tempDir('qicoord-bench-');
process.once('exit', () => rmSync(ROOT, { recursive: true, force: true }));

/** A fresh directory under the bench's temporary root (removed when the bench exits). */
export function scratchDir(prefix) {
  return realpathSync(mkdtempSync(path.join(ROOT, prefix)));
}

/** Config input shared by every case: temp workspace root, silent logs, pool off. */
export function configInput(overrides = {}) {
  return {
    logging: { level: 'silent' },
    ...overrides,
    pool: { enabled: false, ...overrides.pool },
    sandbox: { workspaceRoot: path.join(ROOT, 'ws'), ...overrides.sandbox },
  };
}

/** A resolved config (throws on an invalid one: the bench's own inputs are wrong). */
export function benchConfig(overrides = {}) {
  const r = resolveConfig(configInput(overrides), { filepath: null, dir: BENCH_DIR });
  if (r.tag === 'failure') throw new Error(`bench config invalid: ${r.error.message}`);
  mkdirSync(r.value.sandbox.workspaceRoot, { recursive: true });
  return r.value;
}

export const silentLogger = () => createRootLogger({ level: 'silent' });

export function makeFactory(config = benchConfig()) {
  return new SubAgentFactory({ parentAgentId: 'bench', config, logger: silentLogger() });
}

/**
 * A SubAgentSpecification for a fixture plugin, from the config's defaults.
 * @param {string} plugin fixture file name
 * @param {{ isolationLevel?: string, maxMemoryMB?: number, capability?: string }} o
 */
export function agentSpec(config, plugin, o = {}) {
  const d = config.defaults;
  return {
    agentType: 'basic',
    capabilities: [o.capability ?? 'bench'],
    plugin: fixture(plugin),
    resourceLimits: { ...d.resourceLimits, maxMemoryMB: o.maxMemoryMB ?? d.resourceLimits.maxMemoryMB },
    securityConstraints: { ...d.securityConstraints },
    isolationLevel: o.isolationLevel ?? 'restricted',
    parentAgentId: 'bench',
  };
}

/** A parsed SubTask for `SubAgent.execute`. */
export function subtask(id, outputs = ['out'], executionConstraints = {}) {
  return SubTask.parse({ id, parentTaskId: 'bench', expectedOutputs: outputs.map((name) => ({ name })), executionConstraints, estimatedDuration: 100 });
}

/** Unwraps a Result or throws with its error (bench set-up must not fail silently). */
export function ok(result, what) {
  if (result.tag === 'success') return result.value;
  throw new Error(`${what}: ${result.error.code} ${result.error.message}`);
}

/**
 * The command line, env and cwd of a bare child that runs `script` exactly as an agent of
 * `spec` would run the bootstrap: same wrappers, node flags and (scrubbed) environment.
 */
export async function likeForLike(config, spec, script) {
  const host = await detectHost(config.sandbox.nodePath);
  const workspace = path.join(ROOT, 'bare-workspace');
  mkdirSync(workspace, { recursive: true, mode: 0o700 });
  // As an agent: an unprivileged identity when the coordinator is root, owning its workspace.
  const runAs = spec.isolationLevel === 'monitored' ? null : agentIdentity(host.isRoot, { uid: config.sandbox.agentUid, gid: config.sandbox.agentGid });
  if (runAs !== null) chownSync(workspace, runAs.uid, runAs.gid);
  const plan = ok(
    planLaunch({
      spec,
      host,
      nodePath: config.sandbox.nodePath,
      bootstrapPath: script,
      runtimeReadPaths: RUNTIME.readPaths,
      pluginReadPaths: pluginReadPaths(spec.plugin),
      workspace,
      extraReadPaths: config.sandbox.readPaths,
      extraWritePaths: config.sandbox.writePaths,
      env: buildAgentEnv(config.sandbox.passEnv, config.sandbox.env),
      networkIsolation: config.sandbox.networkIsolation,
      onUnavailable: config.sandbox.onUnavailable,
      runAs,
    }),
    'planLaunch',
  );
  const argv = [plan.command, ...plan.args];
  const nodeAt = plan.wrapperArgs.length;
  return {
    plan,
    argv,
    /** Wrapper programs and their arguments, up to (not including) node. */
    wrappers: argv.slice(0, nodeAt),
    /** Node's own flags (between node and the script). */
    nodeFlags: argv.slice(nodeAt + 1, -1),
    env: { ...plan.env },
    cwd: plan.cwd,
  };
}

/**
 * `child_process.fork` of a baseline script with the like-for-like command line: the wrappers
 * become fork's `execPath` + leading `execArgv` (setpriv and prlimit exec their argument, so the
 * IPC fd and NODE_CHANNEL_FD pass through), node's flags follow. Own process group, as an agent.
 */
export function forkLike(launch, script, options = {}) {
  const argv = [...launch.argv.slice(0, -1), script];
  const child = fork(script, options.args ?? [], {
    execPath: argv[0],
    execArgv: argv.slice(1, -1),
    env: launch.env,
    cwd: launch.cwd,
    detached: true,
    // fd 4: the seccomp program bubblewrap reads, as for an agent.
    stdio: launch.plan.seccompFilter === null ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'pipe', 'pipe', 'ipc', 'pipe'],
    serialization: 'json',
  });
  if (launch.plan.seccompFilter !== null) child.stdio[4].end(Buffer.from(launch.plan.seccompFilter));
  child.stdout.resume();
  child.stderr.resume();
  return child;
}

/** The node argv of a live process (from /proc), with `replace` pairs applied to every argument. */
export function procArgv(pid, replace = []) {
  const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter((a) => a !== '');
  return argv.map((a) => replace.reduce((s, [from, to]) => s.split(from).join(to), a));
}

/** The environment variable names of a live process (from /proc). */
export function procEnvNames(pid) {
  return readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter((a) => a !== '').map((kv) => kv.slice(0, kv.indexOf('=')));
}
