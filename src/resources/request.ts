/**
 * Validation of an allocation request: requirements, constraints and lifetime, all problems at once.
 * @module
 */
import type { QiError, Result } from '@qi/base';
import { failure, success } from '@qi/base';
import { z } from 'zod';
import type { InputIssue } from '../schemas/issues.js';
import { issuesError, toInputIssues } from '../schemas/issues.js';
import { ResourceConstraints, ResourceRequirement } from '../schemas/resources.js';
import { MEMORY_UNITS, toMegabytes } from './units.js';

const Requirements = z.array(ResourceRequirement);

/** A requirement with its size in MB (`memoryMB` is 0 for cpu/network/storage). */
export interface SizedRequirement extends ResourceRequirement {
  readonly memoryMB: number;
}

/** A validated request. */
export interface ParsedRequest {
  readonly requirements: readonly SizedRequirement[];
  readonly constraints: ResourceConstraints;
  readonly ttlMs: number;
}

/**
 * Parses requirements (`requirements[i].…`), constraints (`constraints.…`) and the lifetime
 * (`ttlMs`, which must be a finite number > 0). Fails with one INVALID_SPEC listing every issue
 * by path; a memory requirement in a unit other than B/KB/MB/GB is one of them.
 */
export function parseRequest(requirements: unknown, constraints: unknown, ttlMs: number): Result<ParsedRequest, QiError> {
  const issues: InputIssue[] = [];
  const reqs = Requirements.safeParse(requirements, { reportInput: true });
  if (!reqs.success) issues.push(...toInputIssues(Requirements, reqs.error.issues, 'requirements'));
  const cons = ResourceConstraints.safeParse(constraints, { reportInput: true });
  if (!cons.success) issues.push(...toInputIssues(ResourceConstraints, cons.error.issues, 'constraints'));
  if (!(Number.isFinite(ttlMs) && ttlMs > 0)) issues.push({ path: 'ttlMs', message: `expected a positive number of ms, got ${String(ttlMs)}` });
  const sized: SizedRequirement[] = [];
  (reqs.success ? reqs.data : []).forEach((req, i) => {
    const mb = req.type === 'memory' ? toMegabytes(req.amount, req.unit) : 0;
    if (mb === undefined) {
      issues.push({ path: `requirements[${i}].unit`, message: `unknown memory unit '${req.unit}' (expected ${MEMORY_UNITS.join(', ')})` });
    } else sized.push({ ...req, memoryMB: mb });
  });
  if (issues.length > 0 || !cons.success) {
    return failure(issuesError(issues, { code: 'INVALID_SPEC', what: 'resource request' }));
  }
  return success({ requirements: sized, constraints: cons.data, ttlMs });
}
