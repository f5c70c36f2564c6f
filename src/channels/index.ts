/**
 * Channels: messages between agents through the coordinator (direct, topics, work queues).
 * @module
 */
export { ChannelRouter } from './router.js';
export type { ChannelEvent, ChannelRouterOptions, ChannelStats, Delivery, QueueMessage } from './types.js';
export type { DeliverFn } from './direct.js';
export { MAX_NAME_LENGTH } from './payload.js';
