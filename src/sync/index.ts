/**
 * Synchronization points: barrier, checkpoint, decision and aggregation, run by one {@link SyncHub} per run.
 * @module
 */
export { SyncHub } from './hub.js';
export type { DecisionRule, PointOutcome, PointStatus, Reducer, SyncEvent, SyncHubOptions, SyncSummary } from './types.js';
export { BUILTIN_RULES, firstRule, majorityRule, unanimousRule } from './rules.js';
export { BUILTIN_REDUCERS } from './reducers.js';
export { canonicalJson } from './canonical.js';
export { checkpointFile, isSafeFileId } from './checkpoint.js';
