import type { DistributedTask, SubTask } from '../schemas/task.js';

interface Phase {
  readonly suffix: string;
  readonly description: string;
  readonly capabilities: readonly string[];
  readonly inputs: readonly string[];
  readonly output: string;
  readonly memoryMB: number;
  readonly maxDurationMs: number;
  readonly estimatedMs: number;
  readonly securityLevel: 'low' | 'medium' | 'high';
}

/**
 * The spec's complexity phases. The built-in plugins that cover these capabilities do the work:
 * `basic` prepares (inputs with their types, facts about named files) and executes (reads and
 * counts every file the context or plan names); `decision-capable` analyses the inputs and
 * plans one step per file. Estimates are the spec's.
 */
const PHASES: Readonly<Record<DistributedTask['complexity'], readonly Phase[]>> = {
  simple: [
    { suffix: 'single', description: '', capabilities: ['basic-operations', 'execution'], inputs: [], output: 'execution-result', memoryMB: 64, maxDurationMs: 30_000, estimatedMs: 15_000, securityLevel: 'medium' },
  ],
  moderate: [
    { suffix: 'prep', description: 'Preparation phase for', capabilities: ['basic-operations', 'preparation'], inputs: [], output: 'prepared-context', memoryMB: 32, maxDurationMs: 10_000, estimatedMs: 8_000, securityLevel: 'medium' },
    { suffix: 'exec', description: 'Execution phase for', capabilities: ['basic-operations', 'execution'], inputs: ['prepared-context'], output: 'execution-result', memoryMB: 96, maxDurationMs: 25_000, estimatedMs: 20_000, securityLevel: 'medium' },
  ],
  complex: [
    { suffix: 'analysis', description: 'Analysis phase for', capabilities: ['basic-operations', 'analysis', 'decision-making'], inputs: [], output: 'analysis-result', memoryMB: 128, maxDurationMs: 15_000, estimatedMs: 12_000, securityLevel: 'high' },
    { suffix: 'planning', description: 'Planning phase for', capabilities: ['basic-operations', 'planning', 'decision-making'], inputs: ['analysis-result'], output: 'execution-plan', memoryMB: 64, maxDurationMs: 10_000, estimatedMs: 8_000, securityLevel: 'medium' },
    { suffix: 'execution', description: 'Execution phase for', capabilities: ['basic-operations', 'execution', 'monitoring'], inputs: ['analysis-result', 'execution-plan'], output: 'final-result', memoryMB: 192, maxDurationMs: 30_000, estimatedMs: 25_000, securityLevel: 'medium' },
  ],
};

function fromPhase(task: DistributedTask, phase: Phase, concurrencySupport: boolean): SubTask {
  return {
    id: `${task.id}-${phase.suffix}`,
    parentTaskId: task.id,
    description: phase.description === '' ? task.description : `${phase.description} ${task.description}`,
    agentRequirements: {
      capabilities: [...phase.capabilities],
      minimumVersion: '0.10.0',
      resourceNeeds: [{ resource: 'memory', amount: phase.memoryMB, unit: 'MB', shared: false }],
      securityLevel: phase.securityLevel,
      concurrencySupport,
    },
    inputs: phase.inputs.map((name) => ({ name, type: 'object', value: null, required: true })),
    expectedOutputs: [{ name: phase.output, type: 'object', description: `${phase.suffix} result` }],
    executionConstraints: { maxDuration: phase.maxDurationMs, maxMemory: phase.memoryMB, allowedTools: ['read', 'list'], requiresNetwork: false },
    successCriteria: [{ criterion: `${phase.suffix}-complete`, threshold: 1, measurement: 'boolean' }],
    estimatedDuration: phase.estimatedMs,
  };
}

/**
 * The task's subtasks: given ones as they are; otherwise the phases of its complexity. Parallel
 * strategies mark generated subtasks as concurrency-capable, sequential ones not (spec).
 */
export function decompose(task: DistributedTask, strategyType: string): SubTask[] {
  if (task.subtasks !== undefined && task.subtasks.length > 0) return [...task.subtasks];
  return PHASES[task.complexity].map((phase) => fromPhase(task, phase, strategyType !== 'sequential'));
}
