export * from './common.js';
export * from './resources.js';
export * from './spec.js';
export * from './strategy.js';
export * from './task.js';
export { formatIssues, formatPath, parseInput, toInputIssues, type InputIssue, type ParseOptions } from './issues.js';
