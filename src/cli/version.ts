export { packageVersion } from '../subagent/package-root.js';
