import type { QiError, Result } from '@qi/base';
import { failure, success } from '@qi/base';
import type { z } from 'zod';
import type { ErrorCode } from '../errors/catalogue.js';
import { qiError } from '../errors/catalogue.js';

/** One problem found in an input, addressed by a dotted path (`task.subtasks[2].inputs[0].name`). */
export interface InputIssue {
  readonly path: string;
  readonly message: string;
}

type PathKey = PropertyKey;

/** Formats a path as `a.b[2].c` under an optional root label. */
export function formatPath(path: readonly PathKey[], root = ''): string {
  let out = root;
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else {
      const name = String(key);
      out += out === '' ? name : `.${name}`;
    }
  }
  return out === '' ? '(root)' : out;
}

/** Levenshtein distance, for "did you mean" suggestions. */
export function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0] ?? 0;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j] ?? 0;
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      prev[j] = Math.min(up + 1, (prev[j - 1] ?? 0) + 1, diag + cost);
      diag = up;
    }
  }
  return prev[b.length] ?? 0;
}

/** The closest candidate to `word`, if it is close enough to be a likely typo. */
export function suggest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  const lower = word.toLowerCase();
  for (const candidate of candidates) {
    const d = editDistance(lower, candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  const allowed = Math.max(2, Math.floor(word.length / 3));
  return bestDistance <= allowed ? best : undefined;
}

interface SchemaDef {
  readonly type?: string;
  readonly innerType?: unknown;
  readonly in?: unknown;
  readonly element?: unknown;
  readonly valueType?: unknown;
  readonly shape?: Record<string, unknown>;
  readonly options?: readonly unknown[];
}

function defOf(schema: unknown): SchemaDef | undefined {
  const zod = (schema as { _zod?: { def?: SchemaDef } } | undefined)?._zod;
  return zod?.def;
}

/** Unwraps optional/default/nullable/pipe wrappers down to the schema that holds the shape. */
function unwrap(schema: unknown): unknown {
  let current = schema;
  for (let guard = 0; guard < 16; guard++) {
    const def = defOf(current);
    if (def === undefined) return current;
    if (def.innerType !== undefined) current = def.innerType;
    else if (def.type === 'pipe' && def.in !== undefined) current = def.in;
    else return current;
  }
  return current;
}

/** The keys an object schema knows at `path`, for near-miss suggestions. */
export function knownKeysAt(schema: unknown, path: readonly PathKey[]): string[] {
  let current = unwrap(schema);
  for (const key of path) {
    const def = defOf(current);
    if (def === undefined) return [];
    if (typeof key === 'number' && def.element !== undefined) current = unwrap(def.element);
    else if (def.shape !== undefined) current = unwrap(def.shape[String(key)]);
    else if (def.valueType !== undefined) current = unwrap(def.valueType);
    else return [];
  }
  const shape = defOf(current)?.shape;
  return shape === undefined ? [] : Object.keys(shape);
}

function describeValue(input: unknown): string {
  if (input === undefined) return 'nothing';
  if (input === null) return 'null';
  if (Array.isArray(input)) return 'an array';
  if (typeof input === 'string') return `"${input.length > 40 ? `${input.slice(0, 40)}…` : input}"`;
  if (typeof input === 'object') return 'an object';
  return `${typeof input} ${String(input)}`;
}

function article(expected: string): string {
  return /^[aeiou]/.test(expected) ? `an ${expected}` : `a ${expected}`;
}

type RawIssue = z.core.$ZodIssue & { input?: unknown };

/** zod's own default messages start like this; anything else was written by a schema and is kept. */
const ZOD_DEFAULT_MESSAGE = /^(Invalid|Too (small|big)|Unrecognized)/;

function messageFor(issue: RawIssue): string {
  if (!ZOD_DEFAULT_MESSAGE.test(issue.message)) return issue.message;
  switch (issue.code) {
    case 'invalid_type': {
      const expected = issue.expected === 'int' ? 'integer' : String(issue.expected);
      if (issue.input === undefined) return `is required (expected ${article(expected)})`;
      return `expected ${article(expected)}, got ${describeValue(issue.input)}`;
    }
    case 'too_small': {
      const min = Number(issue.minimum);
      if (issue.origin === 'number' || issue.origin === 'int' || issue.origin === 'bigint') {
        if (min === 0 && issue.inclusive === false) return 'expected a positive number';
        if (min === 0) return 'expected a number ≥ 0';
        return `expected a number ${issue.inclusive === false ? '>' : '≥'} ${min}`;
      }
      if (issue.origin === 'array' || issue.origin === 'set') return `expected at least ${min} item${min === 1 ? '' : 's'}`;
      if (issue.origin === 'string') return min === 1 ? 'must not be empty' : `expected at least ${min} characters`;
      return issue.message;
    }
    case 'too_big': {
      const max = Number(issue.maximum);
      if (issue.origin === 'number' || issue.origin === 'int') return `expected a number ${issue.inclusive === false ? '<' : '≤'} ${max}`;
      if (issue.origin === 'array') return `expected at most ${max} items`;
      if (issue.origin === 'string') return `expected at most ${max} characters`;
      return issue.message;
    }
    case 'invalid_value':
      return `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}, got ${describeValue(issue.input)}`;
    case 'invalid_format':
      return issue.message;
    case 'invalid_union':
      return `does not match any allowed form (got ${describeValue(issue.input)})`;
    default:
      return issue.message;
  }
}

/** Turns zod issues into path-addressed problems, one per unknown key, with near-miss suggestions. */
export function toInputIssues(schema: unknown, issues: readonly RawIssue[], root = ''): InputIssue[] {
  const out: InputIssue[] = [];
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      const known = knownKeysAt(schema, issue.path);
      for (const key of issue.keys) {
        const hint = suggest(key, known);
        out.push({
          path: formatPath([...issue.path, key], root),
          message: hint === undefined ? 'unknown key' : `unknown key (did you mean '${hint}'?)`,
        });
      }
      continue;
    }
    if (issue.code === 'invalid_union' && issue.errors.length > 0) {
      // Report the branch that got furthest: the one with the fewest problems.
      const best = [...issue.errors].sort((a, b) => a.length - b.length)[0] ?? [];
      const nested = best.map((i) => ({ ...i, path: [...issue.path, ...i.path] }) as RawIssue);
      if (nested.length > 0 && nested.length <= 3) {
        out.push(...toInputIssues(schema, nested, root));
        continue;
      }
    }
    out.push({ path: formatPath(issue.path, root), message: messageFor(issue) });
  }
  return out;
}

/** One line per issue: `path: message`. */
export function formatIssues(issues: readonly InputIssue[]): string {
  return issues.map((i) => `${i.path}: ${i.message}`).join('\n');
}

/** Options for {@link parseInput}. */
export interface ParseOptions {
  /** Catalogue code of the failure (INVALID_TASK, INVALID_SPEC, INVALID_CONFIG, INVALID_MESSAGE). */
  readonly code: ErrorCode;
  /** What is being parsed, for the message: "task file examples/x.yaml". */
  readonly what: string;
  /** Path prefix of every issue: "task", "spec". */
  readonly root?: string;
  /** Extra context for the error. */
  readonly context?: Record<string, unknown>;
}

/** Builds the QiError listing every issue. */
export function issuesError(issues: readonly InputIssue[], options: ParseOptions): QiError {
  const count = issues.length;
  const head = `${options.what} is invalid (${count} problem${count === 1 ? '' : 's'}):`;
  return qiError(options.code, `${head}\n${formatIssues(issues)}`, { ...options.context, issues });
}

/** Parses `input` with `schema`; a failure is a QiError whose message and context.issues name every offending path. */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown, options: ParseOptions): Result<z.output<S>, QiError> {
  const parsed = schema.safeParse(input, { reportInput: true });
  if (parsed.success) return success(parsed.data);
  return failure(issuesError(toInputIssues(schema, parsed.error.issues as RawIssue[], options.root ?? ''), options));
}
