/**
 * Static checks of synchronization points: names of reducers and rules, required parameters,
 * duplicate ids.
 * @module
 */
import type { QiError, Result } from '@qi/base';
import { failure, success } from '@qi/base';
import { qiError } from '../errors/catalogue.js';
import type { InputIssue } from '../schemas/issues.js';
import type { SynchronizationPoint } from '../schemas/strategy.js';
import { BUILTIN_REDUCERS } from './reducers.js';
import { BUILTIN_RULES } from './rules.js';
import type { DecisionRule, Reducer } from './types.js';

function nameIssue(
  path: string,
  kind: 'reducer' | 'rule',
  value: unknown,
  builtins: readonly string[],
  plugins: ReadonlyMap<string, unknown> | undefined,
): InputIssue | undefined {
  const known = [...builtins, ...(plugins?.keys() ?? [])];
  if (typeof value === 'string' && known.includes(value)) return undefined;
  const what = typeof value === 'string' ? `unknown ${kind} '${value}'` : `${kind} must be a string`;
  return { path, message: `${what}; use one of: ${known.join(', ')} (plugin ${kind}s must be registered)` };
}

/** The problems of one point (not counting duplicate ids), with paths under `root`. */
export function pointIssues(
  point: SynchronizationPoint,
  root: string,
  reducers?: ReadonlyMap<string, Reducer>,
  rules?: ReadonlyMap<string, DecisionRule>,
): InputIssue[] {
  const issues: InputIssue[] = [];
  const params = point.condition.parameters;
  if (point.condition.type === 'timeout' && point.timeoutMs === undefined) {
    issues.push({
      path: `${root}.timeoutMs`,
      message: "a 'timeout' condition needs timeoutMs: the milliseconds to wait before releasing with whoever arrived",
    });
  }
  if (point.condition.type === 'specific-agents') {
    const agents = params['agents'];
    const ok = Array.isArray(agents) && agents.length > 0 && agents.every((a) => typeof a === 'string' && a !== '');
    if (!ok) {
      issues.push({
        path: `${root}.condition.parameters.agents`,
        message: "a 'specific-agents' condition needs parameters.agents: a non-empty array of subtask or agent ids",
      });
    }
  }
  if (point.type === 'aggregation' && params['reducer'] !== undefined) {
    const issue = nameIssue(`${root}.condition.parameters.reducer`, 'reducer', params['reducer'], BUILTIN_REDUCERS, reducers);
    if (issue !== undefined) issues.push(issue);
  }
  if (point.type === 'decision' && params['rule'] !== undefined) {
    const issue = nameIssue(`${root}.condition.parameters.rule`, 'rule', params['rule'], [...BUILTIN_RULES.keys()], rules);
    if (issue !== undefined) issues.push(issue);
  }
  return issues;
}

/** A point that reuses the id of an earlier one (`first`). */
export interface DuplicatePoint {
  readonly index: number;
  readonly first: number;
  readonly issue: InputIssue;
}

/** Every point after the first that reuses an id. */
export function duplicatePoints(points: readonly SynchronizationPoint[], root = 'synchronizationPoints'): DuplicatePoint[] {
  const firstIndex = new Map<string, number>();
  const out: DuplicatePoint[] = [];
  points.forEach((point, index) => {
    const first = firstIndex.get(point.id);
    if (first === undefined) firstIndex.set(point.id, index);
    else {
      const message = `duplicate synchronization point id '${point.id}' (already used by ${root}[${first}]); give each point its own id`;
      out.push({ index, first, issue: { path: `${root}[${index}].id`, message } });
    }
  });
  return out;
}

/** Builds the INVALID_SPEC error for a list of issues. */
export function invalidPoints(issues: readonly InputIssue[]): QiError {
  const lines = issues.map((i) => `${i.path}: ${i.message}`).join('; ');
  return qiError('INVALID_SPEC', `invalid synchronization points: ${lines}`, { issues });
}

/**
 * Checks every point: unknown reducer or rule names (built-ins plus the given plugins),
 * `specific-agents` without `parameters.agents`, a `timeout` condition without `timeoutMs`,
 * and duplicate ids. Fails with one `INVALID_SPEC` listing them all in `context.issues`.
 */
export function validatePoints(
  points: readonly SynchronizationPoint[],
  reducers?: ReadonlyMap<string, Reducer>,
  rules?: ReadonlyMap<string, DecisionRule>,
): Result<void, QiError> {
  const duplicates = duplicatePoints(points);
  const issues: InputIssue[] = [];
  points.forEach((point, i) => {
    for (const d of duplicates) if (d.index === i) issues.push(d.issue);
    issues.push(...pointIssues(point, `synchronizationPoints[${i}]`, reducers, rules));
  });
  return issues.length === 0 ? success(undefined) : failure(invalidPoints(issues));
}
