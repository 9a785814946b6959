// Public surface of the Redis queue: BullMQ job queue, worker event bus, worker registry.
export { openRedisQueue, checkpointsOf, type Affinity, type RedisJobQueue, type RedisQueueOptions } from './redis-job-queue.ts';
export { parseRedisUrl, type RedisAddress } from './redis-url.ts';
export { ServerBus, WorkerBus, type ControlMessage, type HubCall } from './event-bus.ts';
export { WorkerRegistry, type WorkerInfo } from './worker-registry.ts';
