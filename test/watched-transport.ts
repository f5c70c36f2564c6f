/**
 * An in-memory transport (qicoord/testing) whose agent plugins call `onExecute` with each
 * subtask as it reaches them, then run as they are: for tests that count runs per subtask or
 * look at the world (a journal file) at the moment an agent receives its subtask.
 */
import type { AgentPlugin, AgentPluginContext, SubtaskView } from 'qicoord/plugin';
import { inMemoryTransport, type InMemoryTransport } from 'qicoord/testing';

export function watchedTransport(onExecute: (subtask: SubtaskView) => void): InMemoryTransport {
  return inMemoryTransport({
    loadPlugin: async (file) => {
      const plugin = ((await import(file)) as { default: AgentPlugin }).default;
      return {
        ...plugin,
        execute(subtask: SubtaskView, ctx: AgentPluginContext) {
          onExecute(subtask);
          return plugin.execute(subtask, ctx);
        },
      };
    },
  });
}
