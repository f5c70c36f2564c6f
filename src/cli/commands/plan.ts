import type { TaskDistribution } from '../../distribution/types.js';
import type { StrategyFlags } from '../options.js';
import { distributeOpened, openTask } from './open.js';
import { EXIT, printJson, reportFailure, type CommandResult, type OutputMode } from '../output.js';
import { seconds, table } from '../progress/format.js';

export const planHelp = `Usage: qicoord plan FILE [--strategy S] [--max-agents N] [--failure F] [--config C] [--json]

Distribution only, nothing runs: the analysis, the agent lanes (allocations) with their
subtasks and SubAgent specifications, the DAG, the communication channels, and the
synchronization and fallback plans.

Exit codes: 0 planned, 2 invalid input or config, or not suitable for distribution,
3 the plugins cannot be loaded on this host.`;

export interface PlanOptions extends StrategyFlags {
  readonly file: string;
  readonly config?: string | undefined;
  readonly mode: OutputMode;
}

function describe(d: TaskDistribution): string {
  const a = d.analysis;
  const lines = [
    `task '${d.originalTask.id}': ${d.subtasks.length} subtasks, strategy ${d.strategy.type} (max ${d.strategy.maxConcurrentAgents} agents, ${d.strategy.failureHandling}, ${d.strategy.communicationProtocol})`,
    `estimate: work ${seconds(a.totalWorkMs)}, critical path ${seconds(a.criticalPathMs)} (${a.criticalPath.join(' → ')}), ${a.recommendedAgents} agents recommended, benefit ${(a.estimatedBenefit * 100).toFixed(0)}%`,
    '',
    ...table(
      [
        { title: 'LANE', width: 8 },
        { title: 'PRIO', width: 4 },
        { title: 'PLUGIN', width: 18 },
        { title: 'ISOLATION', width: 10 },
        { title: 'MEMORY', width: 7 },
        { title: 'WAITS FOR', width: 16 },
        { title: 'SUBTASKS', width: 60 },
      ],
      d.agentAllocations.map((al) => [
        al.agentId,
        String(al.priority),
        al.plugin,
        al.specification.isolationLevel,
        `${al.specification.resourceLimits.maxMemoryMB}MB`,
        al.dependencies.join(',') || '-',
        al.assignedSubTasks.map((s) => s.id).join(', '),
      ]),
    ),
    '',
    `channels: ${d.communicationChannels.map((c) => c.id).join(', ') || 'none'}`,
    `synchronization: ${d.synchronizationPlan.points.map((p) => `${p.id} (${p.type})`).join(', ') || 'none'}`,
    `fallback (${d.fallbackPlan.recoveryStrategy}): ${d.fallbackPlan.actions.map((x) => x.action).join(', ') || 'none'}`,
  ];
  return `${lines.join('\n')}\n`;
}

export async function planCommand(o: PlanOptions): CommandResult {
  const opened = await openTask(o.file, o.config, o, o.mode);
  if (opened.tag === 'failure') return reportFailure(opened, o.mode);
  const { coordinator } = opened.value;
  const plan = await distributeOpened(opened.value);
  await coordinator.close();
  if (plan.tag === 'failure') return reportFailure(plan, o.mode);
  if (o.mode.json) printJson(plan);
  else process.stdout.write(describe(plan.value));
  return EXIT.ok;
}
