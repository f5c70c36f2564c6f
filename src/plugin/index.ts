/**
 * `qicoord/plugin`: what a plugin author imports. Kept free of runtime dependencies: agent
 * plugins load it inside the sandboxed child, where every module costs start-up time.
 */
export type { AgentPlugin, AgentPluginContext, AgentType, PluginLogger, SubtaskView, ToolCaller, QueueHandle, QueuedMessage, DirectMessage, DelegationRequest, DelegationConstraints } from './types.js';
export type { StrategyPlugin, StrategySubtask, PlanInput, Lanes, ReadySubtask, ReadyOrder, SchedulerState, Scheduler } from './strategy-types.js';
export { defineAgent, defineStrategy } from './define.js';
