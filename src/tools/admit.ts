import type { QiError, Result } from '@qi/base';
import { failure, success } from '@qi/base';
import { qiError } from '../errors/catalogue.js';
import { parseInput, suggest } from '../schemas/issues.js';
import type { ToolDefinition, ToolPolicy, ToolUsage } from './types.js';

/** A call that passed admission: its tool and parsed arguments. */
export interface Admitted {
  readonly tool: ToolDefinition;
  readonly args: unknown;
}

/** True when a prohibitedOperations entry names the tool, its operation class, or a prefix class ('fs' covers 'fs.write'). */
export function prohibits(entry: string, tool: ToolDefinition): boolean {
  return entry === tool.name || entry === tool.operation || tool.operation.startsWith(`${entry}.`);
}

/**
 * The broker's checks before a call runs, in order: tool known, in allowedTools, not prohibited
 * (by name or operation class), arguments valid (INVALID_TOOL_ARGS naming each path), tool-call
 * budget left (TOOL_BUDGET), file-operation budget left for file tools (FILE_OP_BUDGET).
 */
export function admitCall(
  policy: ToolPolicy,
  tools: ReadonlyMap<string, ToolDefinition>,
  used: Readonly<ToolUsage>,
  name: string,
  args: unknown,
): Result<Admitted, QiError> {
  const denied = (message: string, context: Record<string, unknown>): Result<Admitted, QiError> =>
    failure(qiError('TOOL_DENIED', message, { agentId: policy.agentId, ...context }));
  const tool = tools.get(name);
  if (tool === undefined) {
    const known = [...tools.keys()].sort();
    const hint = suggest(name, known);
    const mean = hint === undefined ? '' : ` (did you mean '${hint}'?)`;
    return denied(`unknown tool '${name}'${mean}; known tools: ${known.join(', ')}`, { tool: name, knownTools: known });
  }
  if (!policy.allowedTools.includes(name)) {
    const allowed = policy.allowedTools.length === 0 ? 'none' : policy.allowedTools.join(', ');
    return denied(
      `tool '${name}' is not allowed for agent ${policy.agentId} (allowed: ${allowed}); add '${name}' to securityConstraints.allowedTools (or the subtask's executionConstraints.allowedTools) to allow it`,
      { tool: name, allowedTools: policy.allowedTools },
    );
  }
  const entry = policy.prohibitedOperations.find((e) => prohibits(e, tool));
  if (entry !== undefined) {
    return denied(
      `tool '${name}' (operation '${tool.operation}') is prohibited for agent ${policy.agentId} by prohibitedOperations entry '${entry}'; remove '${entry}' from securityConstraints.prohibitedOperations to allow it`,
      { tool: name, operation: tool.operation, prohibitedBy: entry },
    );
  }
  const parsed = parseInput(tool.args, args, { code: 'INVALID_TOOL_ARGS', what: `arguments of tool '${name}'`, root: 'args', context: { tool: name } });
  if (parsed.tag === 'failure') return parsed;
  if (used.toolCalls >= policy.maxToolCalls) {
    return failure(
      qiError('TOOL_BUDGET', `tool-call budget spent: agent ${policy.agentId} used ${used.toolCalls} of ${policy.maxToolCalls} tool calls (resourceLimits.maxToolCalls); raise maxToolCalls or make fewer calls`, {
        agentId: policy.agentId,
        tool: name,
        used: used.toolCalls,
        limit: policy.maxToolCalls,
      }),
    );
  }
  if (tool.fileOperation && used.fileOperations >= policy.maxFileOperations) {
    return failure(
      qiError('FILE_OP_BUDGET', `file-operation budget spent: agent ${policy.agentId} used ${used.fileOperations} of ${policy.maxFileOperations} file operations (resourceLimits.maxFileOperations); raise maxFileOperations or touch fewer files`, {
        agentId: policy.agentId,
        tool: name,
        used: used.fileOperations,
        limit: policy.maxFileOperations,
      }),
    );
  }
  return success({ tool, args: parsed.value });
}
