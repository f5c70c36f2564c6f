import type { QiError, Result } from '@qi/base';
import { failure, success } from '@qi/base';
import { z } from 'zod';
import { qiError } from '../errors/catalogue.js';
import type { AgentPluginEntry } from '../plugins/registry.js';
import { IsolationLevel, NonNegativeInt, PositiveInt } from '../schemas/common.js';
import { parseInput } from '../schemas/issues.js';
import { SubAgentSpecification } from '../schemas/spec.js';
import { SubTask } from '../schemas/task.js';
import { DEFAULT_MAX_DISK_MB } from '../subagent/launch.js';

/**
 * `ctx.delegate`, the pure part: what a request may say, the child subtask and specification it
 * becomes, and the rule that a child never holds more than its parent. The run (run-delegation.ts)
 * applies the results; a journal's delegated subtasks are checked again by {@link widerThanParent}
 * when they are replayed, so a tampered journal cannot widen a child either.
 */

const Name = z.string().min(1).max(200);

/** Constraints a request may set; every one is checked against the parent's. */
export const DelegationConstraints = z.strictObject({
  maxDuration: PositiveInt.optional(),
  maxMemory: z.number().positive().optional(),
  allowedTools: z.array(Name).max(200).optional(),
  requiresNetwork: z.boolean().optional(),
  networkAccessLevel: z.enum(['none', 'restricted', 'full']).optional(),
  allowedNetworkHosts: z.array(Name).max(1000).optional(),
  fileSystemAccess: z.enum(['read-only', 'restricted', 'full']).optional(),
  maxToolCalls: NonNegativeInt.optional(),
  maxFileOperations: NonNegativeInt.optional(),
  maxCpuPercent: z.number().positive().max(6400).optional(),
  maxDiskMB: z.number().positive().optional(),
  isolationLevel: IsolationLevel.optional(),
});
export type DelegationConstraints = z.output<typeof DelegationConstraints>;

const OutputSpec = z.union([Name, z.strictObject({ name: Name, type: z.string().min(1).max(200).optional(), description: z.string().max(65_536).optional() })]);

/** One `ctx.delegate` request, as the run accepts it from an agent (untrusted). */
export const DelegationRequest = z.strictObject({
  id: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]*$/, { error: "expected an id of letters, digits, '.', '_', ':' or '-'" })
    .max(64)
    .optional(),
  agent: Name.optional(),
  capabilities: z.array(Name).max(100).optional(),
  description: z.string().max(65_536).optional(),
  inputs: z.record(Name, z.unknown()).optional(),
  expectedOutputs: z.array(OutputSpec).max(1000).optional(),
  executionConstraints: DelegationConstraints.optional(),
  estimatedDuration: NonNegativeInt.optional(),
});
export type DelegationRequest = z.output<typeof DelegationRequest>;

/** The limits a run holds delegation to (config `delegation`, over which a task's own win). */
export interface DelegationLimits {
  readonly maxDepth: number;
  readonly maxSubtasks: number;
}

/** The config's limits, with a task's own over them. */
export function delegationLimits(config: DelegationLimits, task: { readonly maxDepth?: number | undefined; readonly maxSubtasks?: number | undefined } | undefined): DelegationLimits {
  return { maxDepth: task?.maxDepth ?? config.maxDepth, maxSubtasks: task?.maxSubtasks ?? config.maxSubtasks };
}

/** A delegated subtask as the run adds it and the journal records it (`subtasks-added`). */
export interface DelegatedSubtask {
  readonly id: string;
  readonly parentId: string;
  /** 1 for a child of a top-level subtask. */
  readonly depth: number;
  readonly subtask: SubTask;
  readonly spec: SubAgentSpecification;
}

/** A delegated subtask's id: `<parent>~<request id or position>` ('~' is never in a task's own ids). */
export function childId(parentId: string, key: string): string {
  return `${parentId}~${key}`;
}

/** Longest subtask id a delegation may make (the channel protocol's id cap). */
export const MAX_CHILD_ID = 200;

/** A delegated subtask: a SubTask whose id has the `~` (and `#n`) a task's own ids cannot have. */
const ChildSubTask = SubTask.extend({ id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:~#-]*$/).max(MAX_CHILD_ID) });

const Requests = z.array(DelegationRequest);

/** Checks the requests of one `ctx.delegate` call (untrusted: from the agent). */
export function parseRequests(raw: readonly unknown[], parentId: string): Result<DelegationRequest[], QiError> {
  const parsed = parseInput(Requests, raw, { what: `ctx.delegate from subtask '${parentId}'`, code: 'INVALID_TASK', root: 'requests', context: { subtaskId: parentId } });
  if (parsed.tag === 'failure') return parsed;
  const seen = new Set<string>();
  for (const [i, r] of parsed.value.entries()) {
    const key = r.id ?? String(i);
    if (seen.has(key)) return failure(qiError('INVALID_TASK', `ctx.delegate from subtask '${parentId}': two requests have the id '${key}'`, { subtaskId: parentId, id: key }));
    seen.add(key);
  }
  return success(parsed.value);
}

/** The agent plugin a request runs on: `agent`, else the one covering `capabilities`, else the parent's. */
export function pluginFor(request: DelegationRequest, parentPlugin: string | undefined, agentFor: (name: string | undefined, capabilities: readonly string[]) => AgentPluginEntry | undefined): Result<AgentPluginEntry, QiError> {
  const entry =
    request.agent !== undefined ? agentFor(request.agent, []) : request.capabilities !== undefined && request.capabilities.length > 0 ? agentFor(undefined, request.capabilities) : agentFor(parentPlugin, []);
  if (entry !== undefined) return success(entry);
  const wanted = request.agent !== undefined ? `agent plugin '${request.agent}'` : request.capabilities !== undefined && request.capabilities.length > 0 ? `capabilities ${JSON.stringify(request.capabilities)}` : `the parent's plugin '${parentPlugin}'`;
  return failure(qiError('INVALID_TASK', `ctx.delegate: no registered agent plugin provides ${wanted}`, { agent: request.agent, capabilities: request.capabilities }));
}

const NETWORK = ['none', 'restricted', 'full'] as const;
const FILES = ['read-only', 'restricted', 'full'] as const;
/** Isolation levels from weakest to strongest. */
const ISOLATION = ['monitored', 'restricted', 'sandbox'] as const;

/** One way a child would hold more than its parent. */
export interface Widening {
  readonly constraint: string;
  readonly asked: unknown;
  readonly parent: unknown;
}

/** What `child` holds beyond `parent` (empty: it holds at most the parent's). */
export function widerThanParent(parent: SubAgentSpecification, child: SubAgentSpecification): Widening[] {
  const out: Widening[] = [];
  const p = parent.resourceLimits;
  const c = child.resourceLimits;
  const ps = parent.securityConstraints;
  const cs = child.securityConstraints;
  const more = (constraint: string, asked: number | undefined, has: number | undefined): void => {
    if (has !== undefined && (asked === undefined || asked > has)) out.push({ constraint, asked: asked ?? 'no limit', parent: has });
  };
  more('maxMemory', c.maxMemoryMB, p.maxMemoryMB);
  more('maxExecutionTimeMs', c.maxExecutionTimeMs, p.maxExecutionTimeMs);
  more('maxConcurrentOperations', c.maxConcurrentOperations, p.maxConcurrentOperations);
  more('maxToolCalls', c.maxToolCalls, p.maxToolCalls);
  more('maxFileOperations', c.maxFileOperations, p.maxFileOperations);
  more('maxCpuPercent', c.maxCpuPercent, p.maxCpuPercent);
  more('maxDiskMB', c.maxDiskMB ?? DEFAULT_MAX_DISK_MB, p.maxDiskMB ?? DEFAULT_MAX_DISK_MB);
  const extraTools = cs.allowedTools.filter((t) => !ps.allowedTools.includes(t));
  if (extraTools.length > 0) out.push({ constraint: 'allowedTools', asked: extraTools, parent: ps.allowedTools });
  const lostProhibitions = ps.prohibitedOperations.filter((o) => !cs.prohibitedOperations.includes(o));
  if (lostProhibitions.length > 0) out.push({ constraint: 'prohibitedOperations', asked: cs.prohibitedOperations, parent: ps.prohibitedOperations });
  if (NETWORK.indexOf(cs.networkAccessLevel) > NETWORK.indexOf(ps.networkAccessLevel)) out.push({ constraint: 'networkAccessLevel', asked: cs.networkAccessLevel, parent: ps.networkAccessLevel });
  if (ps.networkAccessLevel !== 'full') {
    const extraHosts = c.allowedNetworkHosts.filter((h) => !p.allowedNetworkHosts.includes(h));
    if (extraHosts.length > 0) out.push({ constraint: 'allowedNetworkHosts', asked: extraHosts, parent: p.allowedNetworkHosts });
  }
  if (FILES.indexOf(cs.fileSystemAccess) > FILES.indexOf(ps.fileSystemAccess)) out.push({ constraint: 'fileSystemAccess', asked: cs.fileSystemAccess, parent: ps.fileSystemAccess });
  if (ISOLATION.indexOf(child.isolationLevel) < ISOLATION.indexOf(parent.isolationLevel)) out.push({ constraint: 'isolationLevel', asked: child.isolationLevel, parent: parent.isolationLevel });
  if (ps.sandboxEnabled && !cs.sandboxEnabled) out.push({ constraint: 'sandboxEnabled', asked: false, parent: true });
  if (ps.resourceMonitoring && !cs.resourceMonitoring) out.push({ constraint: 'resourceMonitoring', asked: false, parent: true });
  return out;
}

function denied(parentId: string, widenings: readonly Widening[]): QiError {
  const named = widenings.map((w) => `${w.constraint} ${JSON.stringify(w.asked)} (parent: ${JSON.stringify(w.parent)})`).join('; ');
  return qiError('DELEGATION_DENIED', `subtask '${parentId}' asked for a sub-agent holding more than itself: ${named}`, {
    subtaskId: parentId,
    asked: Object.fromEntries(widenings.map((w) => [w.constraint, w.asked])),
    widenings,
  });
}

/**
 * The child's specification: the parent's, on the child's plugin, narrowed by the request.
 * Anything the request leaves out is the parent's (never the config's defaults).
 */
export function childSpecification(parent: SubAgentSpecification, plugin: AgentPluginEntry, c: DelegationConstraints = {}): SubAgentSpecification {
  const p = parent.resourceLimits;
  const ps = parent.securityConstraints;
  const network = c.requiresNetwork === false ? 'none' : (c.networkAccessLevel ?? ps.networkAccessLevel);
  return {
    agentType: plugin.type,
    capabilities: [...plugin.capabilities],
    resourceLimits: {
      ...p,
      allowedNetworkHosts: [...(c.allowedNetworkHosts ?? p.allowedNetworkHosts)],
      ...(c.maxMemory === undefined ? {} : { maxMemoryMB: c.maxMemory }),
      ...(c.maxToolCalls === undefined ? {} : { maxToolCalls: c.maxToolCalls }),
      ...(c.maxFileOperations === undefined ? {} : { maxFileOperations: c.maxFileOperations }),
      ...(c.maxCpuPercent === undefined ? {} : { maxCpuPercent: c.maxCpuPercent }),
      ...(c.maxDiskMB === undefined ? {} : { maxDiskMB: c.maxDiskMB }),
    },
    securityConstraints: {
      ...ps,
      allowedTools: [...(c.allowedTools ?? ps.allowedTools)],
      prohibitedOperations: [...ps.prohibitedOperations],
      networkAccessLevel: network,
      ...(c.fileSystemAccess === undefined ? {} : { fileSystemAccess: c.fileSystemAccess }),
    },
    isolationLevel: c.isolationLevel ?? parent.isolationLevel,
    parentAgentId: parent.parentAgentId,
    plugin: plugin.name,
  };
}

/** What the parent's request builds, before the run places it: the child's subtask and specification, or why not. */
export function delegatedSubtask(
  parent: { readonly subtask: SubTask; readonly spec: SubAgentSpecification; readonly depth: number; readonly remainingMs: number },
  request: DelegationRequest,
  id: string,
  plugin: AgentPluginEntry,
  /** A memo of the parent's child specifications, by plugin and constraints. */
  specs?: Map<string, { readonly spec: SubAgentSpecification; readonly widenings: readonly Widening[] }>,
): Result<DelegatedSubtask, QiError> {
  const parentId = parent.subtask.id;
  if (id.length > MAX_CHILD_ID) {
    return failure(qiError('INVALID_TASK', `ctx.delegate from subtask '${parentId}': the child's id '${id.slice(0, 80)}…' would be longer than ${MAX_CHILD_ID} characters; use shorter request ids`, { subtaskId: parentId }));
  }
  const c = request.executionConstraints ?? {};
  // Equal requests of one parent share one specification (and its profile key in the plan).
  const key = `${plugin.name}\u0000${JSON.stringify(c)}`;
  let checked = specs?.get(key);
  if (checked === undefined) {
    const made = childSpecification(parent.spec, plugin, c);
    checked = { spec: made, widenings: widerThanParent(parent.spec, made) };
    specs?.set(key, checked);
  }
  const spec = checked.spec;
  const widenings = [...checked.widenings];
  if (c.requiresNetwork === true && parent.spec.securityConstraints.networkAccessLevel === 'none') widenings.push({ constraint: 'requiresNetwork', asked: true, parent: 'none' });
  const remaining = Math.max(1, Math.floor(parent.remainingMs));
  if (c.maxDuration !== undefined && c.maxDuration > remaining) widenings.push({ constraint: 'maxDuration', asked: c.maxDuration, parent: remaining });
  if (widenings.length > 0) return failure(denied(parentId, widenings));
  // Built directly (the request passed its schema; SubTask's defaults are filled in here), so
  // that a delegation costs no second schema parse; the journal's copy is parsed on replay.
  const subtask: SubTask = {
    id,
    ...(parent.subtask.parentTaskId === undefined ? {} : { parentTaskId: parent.subtask.parentTaskId }),
    description: request.description ?? '',
    agent: plugin.name,
    agentRequirements: { capabilities: [...(request.capabilities ?? [])], minimumVersion: '0.10.0', resourceNeeds: [], securityLevel: 'medium', concurrencySupport: true },
    inputs: Object.entries(request.inputs ?? {}).map(([name, value]) => ({ name, type: 'any', value: value ?? null, required: false })),
    expectedOutputs: (request.expectedOutputs ?? []).map((o) => (typeof o === 'string' ? { name: o, type: 'any', description: '' } : { name: o.name, type: o.type ?? 'any', description: o.description ?? '' })),
    executionConstraints: {
      maxDuration: c.maxDuration ?? remaining,
      ...(c.maxMemory === undefined ? {} : { maxMemory: c.maxMemory }),
      ...(c.allowedTools === undefined ? {} : { allowedTools: c.allowedTools }),
      ...(c.requiresNetwork === undefined ? {} : { requiresNetwork: c.requiresNetwork }),
    },
    successCriteria: [],
    estimatedDuration: request.estimatedDuration ?? 1000,
  };
  return success({ id, parentId, depth: parent.depth + 1, subtask, spec });
}

/** A delegated subtask read back from a journal: its shape, and again that it holds at most its parent's. */
const JournaledChild = z.strictObject({ id: z.string().min(1).max(MAX_CHILD_ID), parentId: z.string().min(1), depth: z.int().positive().max(64), subtask: ChildSubTask, spec: SubAgentSpecification });

export function replayedSubtask(raw: unknown, parentSpec: (parentId: string) => SubAgentSpecification | undefined): DelegatedSubtask | undefined {
  const shape = JournaledChild.safeParse(raw);
  if (!shape.success || shape.data.subtask.id !== shape.data.id || !shape.data.id.startsWith(`${shape.data.parentId}~`)) return undefined;
  const parent = parentSpec(shape.data.parentId);
  if (parent === undefined || widerThanParent(parent, shape.data.spec).length > 0) return undefined;
  return shape.data;
}
