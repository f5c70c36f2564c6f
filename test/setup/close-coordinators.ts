import { afterAll } from 'vitest';
import { MultiAgentCoordinator } from '../../src/coordinator/coordinator.js';

/**
 * Closes, after each test file, every coordinator that file set up and did not close (the spec's
 * Module 6 tests never call close()), so their agents stop and their workspaces are removed
 * instead of piling up as `test-coordinator.*` folders under the workspace root.
 */
const opened = new Set<MultiAgentCoordinator>();
const init = MultiAgentCoordinator.prototype.init;
MultiAgentCoordinator.prototype.init = function (this: MultiAgentCoordinator) {
  opened.add(this);
  return init.call(this);
};

afterAll(async () => {
  await Promise.all([...opened].map((c) => c.close()));
  opened.clear();
});
