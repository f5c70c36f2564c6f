import { existsSync } from 'node:fs';
import path from 'node:path';
import type { QiError } from '@qi/base';
import { failure, success } from '@qi/base';
import pidusage from 'pidusage';
import { loadConfig } from '../../config/load.js';
import type { Config } from '../../config/schema.js';
import { qiError } from '../../errors/catalogue.js';
import { createRootLogger } from '../../logging/logger.js';
import { detectCgroups } from '../../subagent/cgroups.js';
import { SubAgentFactory } from '../../subagent/factory.js';
import { detectHost } from '../../subagent/host.js';
import { RUNTIME } from '../../subagent/package-root.js';
import type { HostCapabilities } from '../../subagent/types.js';
import type { IsolationLevel } from '../../schemas/common.js';
import { defaultSpecification, LEVELS, planFor } from '../isolation.js';
import { EXIT, printJson, reportFailure, type CommandResult, type OutputMode } from '../output.js';

export const doctorHelp = `Usage: qicoord doctor [--config C] [--json]

Reports what this host can enforce: the agents' Node version and permission-model flag, the
bubblewrap (the OS namespaces), setpriv and prlimit, whether pidusage works,
cgroups, and the config file in use. Then it plans and starts one real agent at the configured
default isolation level. With executor 'bullmq' it also checks the job secret and Redis: that it
answers, its version, and that its maxmemory-policy is noeviction.

Then it lists, for every isolation level, the enforcement layers the launch planner would use
on this host and those it lacks.

Exit codes: 0 the configured isolation level can be met, 2 invalid config, 3 it cannot (also
with --json, whose Result is then a SANDBOX_UNAVAILABLE failure) or the configured Redis is not
usable (a WORKER_LOST failure).`;

interface Check {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
}

/** Whether `sandbox` agents get kernel caps here (this process may create cgroups). */
function cgroups(): string {
  const host = detectCgroups();
  if (host !== null) return `cgroup v${host.version}: sandbox agents get memory, CPU and pids caps`;
  if (existsSync('/sys/fs/cgroup/cgroup.controllers') || existsSync('/sys/fs/cgroup/memory')) {
    return 'present, but this user cannot create cgroups: sandbox agents run without kernel caps (run as root or delegate a subtree)';
  }
  return 'none found: sandbox agents run without kernel caps';
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
  ];
}

/** What the launch planner gives each isolation level on this host, with the config's settings. */
interface LevelReport {
  readonly level: IsolationLevel;
  readonly ok: boolean;
  readonly layers: readonly string[];
  readonly missingLayers: readonly string[];
  readonly error?: QiError;
}

function levelReports(config: Config, host: HostCapabilities): LevelReport[] {
  return LEVELS.map((level) => {
    const plan = planFor(config, host, defaultSpecification(config, level), 'fail');
    if (plan.tag === 'failure') return { level, ok: false, layers: [], missingLayers: [], error: { ...plan.error, message: advice(plan.error.message, config) } };
    return { level, ok: true, layers: plan.value.layers, missingLayers: plan.value.missingLayers };
  });
}

/** Advice without the settings already in force (e.g. no "set onUnavailable: downgrade" when it is set). */
function advice(message: string, config: Config): string {
  if (config.sandbox.onUnavailable !== 'downgrade') return message;
  return message.replace(/[;,]?\s*or set sandbox\.onUnavailable: downgrade,?/, ';');
}

async function defaultLevelCheck(config: Config, host: HostCapabilities, levels: readonly LevelReport[]): Promise<Check> {
  const level = config.defaults.isolationLevel;
  const name = `isolation '${level}'`;
  const report = levels.find((l) => l.level === level)!;
  if (!report.ok) {
    const downgraded = planFor(config, host, defaultSpecification(config, level));
    const runs = config.sandbox.onUnavailable === 'downgrade' && downgraded.tag === 'success' ? ` (sandbox.onUnavailable is downgrade: agents would run at '${downgraded.value.isolationLevel}')` : '';
    return { name, ok: false, detail: `${report.error?.message ?? 'cannot be planned'}${runs}` };
  }
  const factory = new SubAgentFactory({ parentAgentId: 'qicoord-doctor', config, logger: createRootLogger({ level: 'silent' }) });
  const probe = await factory.probePlugin(path.join(RUNTIME.builtinPlugins, 'agents', 'basic.js'));
  await factory.close();
  if (probe.tag === 'failure') return { name, ok: false, detail: `an agent could not start: ${probe.error.message}` };
  return { name, ok: true, detail: `an agent started with: ${report.layers.join(', ')}` };
}

function formatLevels(levels: readonly LevelReport[], configured: IsolationLevel): string[] {
  const out = ['', 'enforcement layers per isolation level (from the launch planner):'];
  for (const l of levels) {
    const mark = l.ok ? '✓' : '✗';
    const tag = l.level === configured ? ' (configured)' : '';
    if (!l.ok) {
      out.push(`${mark} ${`${l.level}${tag}`.padEnd(24)} cannot be met: ${l.error?.message.split('\n')[0] ?? ''}`);
      continue;
    }
    out.push(`${mark} ${`${l.level}${tag}`.padEnd(24)} ${l.layers.join(', ')}`);
    if (l.missingLayers.length > 0) out.push(`  ${''.padEnd(24)} missing: ${l.missingLayers.join(', ')}`);
  }
  return out;
}

export async function doctorCommand(o: { readonly config?: string | undefined; readonly mode: OutputMode }): CommandResult {
  const config = await loadConfig({ cwd: process.cwd(), ...(o.config === undefined ? {} : { configPath: o.config }) });
  if (config.tag === 'failure') {
    return reportFailure(config, o.mode);
  }
  const host = await detectHost(config.value.sandbox.nodePath);
  const levels = levelReports(config.value, host);
  const checks: Check[] = [
    ...hostChecks(host),
    await pidusageWorks(),
    { name: 'cgroups', ok: true, detail: cgroups() },
    { name: 'config', ok: true, detail: config.value.source.filepath ?? 'none found: built-in defaults' },
    await defaultLevelCheck(config.value, host, levels),
  ];
  const executor = config.value.executor;
  // Loaded only with a bullmq executor: BullMQ stays out of a local doctor.
  const redis = executor.type === 'bullmq' ? await (await import('../../remote/doctor-check.js')).checkRedis(executor) : [];
  const configured = config.value.defaults.isolationLevel;
  const honoured = checks[checks.length - 1]!.ok;
  const redisOk = redis.every((c) => c.ok);
  const report = {
    node: host.nodeVersion,
    permissionFlag: host.permissionFlag,
    networkIsolation: { bwrap: host.bwrap !== null },
    checks: [...checks, ...redis],
    levels: Object.fromEntries(levels.map((l) => [l.level, { ok: l.ok, layers: l.layers, missingLayers: l.missingLayers, ...(l.error === undefined ? {} : { error: l.error }) }])),
    defaultIsolationHonoured: honoured,
  };
  const redisFailed = redis.find((c) => !c.ok);
  if (o.mode.json) {
    if (!honoured) printJson(failure(qiError('SANDBOX_UNAVAILABLE', `the configured isolation level '${configured}' cannot be met on this host: ${checks[checks.length - 1]!.detail}`, report)));
    else if (redisFailed !== undefined) printJson(failure(qiError('WORKER_LOST', `the bullmq executor cannot reach its workers: ${redisFailed.name}: ${redisFailed.detail}`, report)));
    else printJson(success(report));
  } else {
    const lines = [...checks, ...redis].map((c) => `${c.ok ? '✓' : '✗'} ${c.name.padEnd(28)} ${c.detail}`);
    lines.push(...formatLevels(levels, configured));
    lines.push('', honoured ? `the configured isolation level '${configured}' can be honoured here` : `the configured isolation level '${configured}' CANNOT be honoured here (see above)`);
    process.stdout.write(`${lines.join('\n')}\n`);
  }
  return honoured && redisOk ? EXIT.ok : EXIT.environment;
}
