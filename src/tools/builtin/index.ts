import type { ToolDefinition } from '../types.js';
import { executeTool } from './execute.js';
import { fetchTool } from './fetch.js';
import { listTool } from './list.js';
import { readTool } from './read.js';
import { writeTool } from './write.js';

export { EXECUTE_MAX_OUTPUT_BYTES, executeTool } from './execute.js';
export { FETCH_DEFAULT_TIMEOUT_MS, FETCH_MAX_BODY_BYTES, FETCH_MAX_TIMEOUT_MS, fetchTool } from './fetch.js';
export { listTool } from './list.js';
export { MAX_READ_BYTES, readTool } from './read.js';
export { writeTool } from './write.js';

/** The built-in tools (`read`, `write`, `list`, `fetch`, `execute`), keyed by name; a fresh map per call. */
export function builtinTools(): Map<string, ToolDefinition> {
  const tools: ToolDefinition[] = [readTool, writeTool, listTool, fetchTool, executeTool];
  return new Map(tools.map((t) => [t.name, t]));
}
