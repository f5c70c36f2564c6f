/** Brand key and version every channel message carries. */
export const BRAND = '__qicoord' as const;
export const PROTOCOL_VERSION = 1 as const;
/** The child's end of the channel. */
export const CHANNEL_FD = 3;
/** The most subtasks one agent may run at once (a reentrant plugin's `concurrency`). */
export const MAX_AGENT_CONCURRENCY = 64;
