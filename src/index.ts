export * from './schemas/index.js';
export { ERROR_CATALOGUE, qiError, hasCode, type ErrorCode, type CatalogueEntry } from './errors/catalogue.js';
export { loadConfig, resolveConfig, defaultConfig, SEARCH_PLACES, type LoadConfigOptions } from './config/load.js';
export { ConfigSchema, type Config, type ConfigInput } from './config/schema.js';
export { DEFAULT_CONFIG } from '../config/defaults.js';
export {
  createRootLogger,
  componentLogger,
  agentLogger,
  subtaskLogger,
  logPerformance,
  redactSecrets,
  type Logger,
  type LoggerOptions,
} from './logging/logger.js';
export { buildTaskGraph, criticalPath, type TaskGraph, type InputSource } from './dag/graph.js';
export { loadTaskFile, parseTask, parseTaskText, type LoadedTaskFile } from './tasks/load.js';
export type { AgentContext } from './context.js';
