export { bullmqTransport, type BullmqTransportOptions } from './transport.js';
export { transportForExecutor, jobSecret } from './executor.js';
export { RemoteWorker, type WorkerOptions, type JobRecord } from './worker.js';
