import { existsSync } from 'node:fs';
import path from 'node:path';
import { failure, success } from '@qi/base';
import pidusage from 'pidusage';
import { loadConfig } from '../../config/load.js';
import type { Config } from '../../config/schema.js';
import { qiError } from '../../errors/catalogue.js';
import { createRootLogger } from '../../logging/logger.js';
import { SubAgentFactory } from '../../subagent/factory.js';
import { detectHost } from '../../subagent/host.js';
import { planLaunch } from '../../subagent/launch.js';
import { RUNTIME } from '../../subagent/package-root.js';
import type { HostCapabilities } from '../../subagent/types.js';
import { EXIT, printJson, reportFailure, type CommandResult } from '../output.js';

export const doctorHelp = `Usage: qicoord doctor [--config C] [--json]

Reports what this host can enforce: the agents' Node version and permission-model flag, the
network isolation methods (bubblewrap, unshare), setpriv and prlimit, whether pidusage works,
cgroups, and the config file in use. Then it plans and starts one real agent at the configured
default isolation level.

Exit codes: 0 the default isolation level can be honoured, 2 invalid config, 3 it cannot.`;

interface Check {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
}

function cgroups(): string {
  if (existsSync('/sys/fs/cgroup/cgroup.controllers')) return 'cgroup v2 present (not used by qicoord)';
  if (existsSync('/sys/fs/cgroup/memory')) return 'cgroup v1 present (not used by qicoord)';
  return 'none found (not used by qicoord)';
}

async function pidusageWorks(): Promise<Check> {
  try {
    const s = await pidusage(process.pid);
    return { name: 'pidusage', ok: s.memory > 0, detail: `reads this process: ${Math.round(s.memory / 1048576)} MB RSS` };
  } catch (e) {
    return { name: 'pidusage', ok: false, detail: e instanceof Error ? e.message : String(e) };
  }
}

function hostChecks(host: HostCapabilities): Check[] {
  return [
    { name: 'node', ok: host.nodeVersion !== 'unknown', detail: `agents run Node ${host.nodeVersion}${host.nodeVersion.startsWith('20.') ? ' (end of life: prefer 22 or 24 LTS via sandbox.nodePath)' : ''}` },
    { name: 'permission model', ok: host.permissionFlag !== null, detail: host.permissionFlag ?? 'not available' },
    { name: 'setpriv (pdeathsig)', ok: host.setpriv !== null, detail: host.setpriv ?? 'missing: agents survive a SIGKILLed coordinator only until their channel closes' },
    { name: 'prlimit (kernel memory cap)', ok: host.prlimit !== null, detail: host.prlimit ?? 'missing: memory is capped by the watchdog and V8 heap cap only' },
    { name: 'bubblewrap', ok: host.bwrap !== null, detail: host.bwrap ?? 'not usable' },
    { name: 'unshare -n', ok: host.unshare !== null, detail: host.unshare === null ? 'not usable' : `${host.unshare} ${host.unshareArgs.join(' ')}` },
  ];
}

async function defaultLevelCheck(config: Config, host: HostCapabilities): Promise<Check> {
  const d = config.defaults;
  const planned = planLaunch({
    spec: {
      agentType: d.agentType,
      capabilities: ['doctor'],
      resourceLimits: { ...d.resourceLimits, allowedNetworkHosts: [...d.resourceLimits.allowedNetworkHosts] },
      securityConstraints: { ...d.securityConstraints, allowedTools: [...d.securityConstraints.allowedTools], prohibitedOperations: [...d.securityConstraints.prohibitedOperations] },
      isolationLevel: d.isolationLevel,
      parentAgentId: 'qicoord-doctor',
    },
    host,
    nodePath: config.sandbox.nodePath,
    bootstrapPath: RUNTIME.bootstrap,
    runtimeReadPaths: RUNTIME.readPaths,
    pluginReadPaths: RUNTIME.pluginApi,
    workspace: config.sandbox.workspaceRoot,
    extraReadPaths: config.sandbox.readPaths,
    extraWritePaths: config.sandbox.writePaths,
    env: {},
    networkIsolation: config.sandbox.networkIsolation,
    onUnavailable: 'fail',
  });
  if (planned.tag === 'failure') return { name: `isolation '${d.isolationLevel}'`, ok: false, detail: planned.error.message };
  const factory = new SubAgentFactory({ parentAgentId: 'qicoord-doctor', config, logger: createRootLogger({ level: 'silent' }) });
  const probe = await factory.probePlugin(path.join(RUNTIME.builtinPlugins, 'agents', 'basic.js'));
  await factory.close();
  if (probe.tag === 'failure') return { name: `isolation '${d.isolationLevel}'`, ok: false, detail: `an agent could not start: ${probe.error.message}` };
  return { name: `isolation '${d.isolationLevel}'`, ok: true, detail: `an agent started with: ${planned.value.layers.join(', ')}` };
}

export async function doctorCommand(o: { readonly config?: string | undefined; readonly json: boolean }): CommandResult {
  const config = await loadConfig({ cwd: process.cwd(), ...(o.config === undefined ? {} : { configPath: o.config }) });
  if (config.tag === 'failure') {
    return reportFailure(config, o.json);
  }
  const host = await detectHost(config.value.sandbox.nodePath);
  const checks: Check[] = [
    ...hostChecks(host),
    await pidusageWorks(),
    { name: 'cgroups', ok: true, detail: cgroups() },
    { name: 'config', ok: true, detail: config.value.source.filepath ?? 'none found: built-in defaults' },
    await defaultLevelCheck(config.value, host),
  ];
  const honoured = checks[checks.length - 1]!.ok;
  const report = { node: host.nodeVersion, permissionFlag: host.permissionFlag, networkIsolation: { bwrap: host.bwrap !== null, unshare: host.unshare !== null }, checks, defaultIsolationHonoured: honoured };
  if (o.json) printJson(honoured ? success(report) : failure(qiError('SANDBOX_UNAVAILABLE', `the default isolation level '${config.value.defaults.isolationLevel}' cannot be honoured on this host`, report)));
  else {
    for (const c of checks) process.stdout.write(`${c.ok ? '✓' : '✗'} ${c.name.padEnd(28)} ${c.detail}\n`);
    process.stdout.write(honoured ? '\nthe default isolation level can be honoured here\n' : '\nthe default isolation level CANNOT be honoured here (see above)\n');
  }
  return honoured ? EXIT.ok : EXIT.environment;
}
