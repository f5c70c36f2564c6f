import { success } from '@qi/base';
import { createCoordinator } from '../../coordinator/coordinator.js';
import { DEFAULT_PROBE_FILE } from '../../plugins/probe-store.js';
import { EXIT, logDestination, printJson, reportFailure, type CommandResult, type OutputMode } from '../output.js';
import { table } from '../progress/format.js';

export const pluginsHelp = `Usage: qicoord plugins [--config C] [--json]

Lists the agent types and strategies that are registered, with where each came from (built-in
or the config file) and its path, and every plugin that could not be registered, with why.
Agent plugins are loaded in a sandboxed agent to learn what they are; they never run in the
coordinator.

Exit code: 0 (problems are listed, not fatal), 2 invalid config.`;

export async function pluginsCommand(o: { readonly config?: string | undefined; readonly mode: OutputMode }): CommandResult {
  const destination = logDestination(o.mode);
  const created = await createCoordinator({ cwd: process.cwd(), ...(o.config === undefined ? {} : { configPath: o.config }), probeFile: DEFAULT_PROBE_FILE, ...(destination === undefined ? {} : { logDestination: destination }) });
  if (created.tag === 'failure') {
    return reportFailure(created, o.mode);
  }
  const registry = await created.value.plugins();
  await created.value.close();
  if (registry.tag === 'failure') return reportFailure(registry, o.mode);
  const r = registry.value;
  // `concurrency`: subtasks one agent of it runs at once (above 1 for a reentrant plugin, within sandbox.maxSubtasksPerAgent).
  const agents = r.listAgents().map((a) => ({ name: a.name, type: a.type, capabilities: a.capabilities, concurrency: a.concurrency ?? 1, description: a.description ?? '', origin: a.origin, path: a.path }));
  const strategies = r.listStrategies().map((s) => ({ name: s.name, description: s.description ?? '', origin: s.origin, path: s.path }));
  const problems = r.problems.map((p) => ({ path: p.path, origin: p.origin, error: p.error }));
  if (o.mode.json) {
    printJson(success({ agents, strategies, problems }));
    return EXIT.ok;
  }
  const out: string[] = [
    'agent plugins:',
    ...table(
      [
        { title: 'NAME', width: 18 },
        { title: 'TYPE', width: 16 },
        { title: 'ORIGIN', width: 10 },
        { title: 'AT ONCE', width: 8 },
        { title: 'CAPABILITIES', width: 62 },
      ],
      agents.map((a) => [a.name, a.type, a.origin === 'builtin' ? 'builtin' : 'config', String(a.concurrency), a.capabilities.join(', ')]),
    ),
    '',
    'strategies:',
    ...table(
      [
        { title: 'NAME', width: 12 },
        { title: 'ORIGIN', width: 10 },
        { title: 'DESCRIPTION', width: 90 },
      ],
      strategies.map((s) => [s.name, s.origin === 'builtin' ? 'builtin' : 'config', s.description]),
    ),
  ];
  if (problems.length > 0) out.push('', 'not registered:', ...problems.map((p) => `  ${p.path} (${p.origin}): [${p.error.code}] ${p.error.message}`));
  process.stdout.write(`${out.join('\n')}\n`);
  return EXIT.ok;
}
