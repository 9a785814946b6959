// Public surface of engine/server: the ComfyUI-compatible HTTP + websocket server (docs/server.md).
export { startServer, DEFAULT_LIMITS, type RunningServer, type ServerOptions } from './server.ts';
export type { BackendJob, ExecutionBackend } from './backend.ts';
export type { Limits } from './context.ts';
export { isLoopback } from './security.ts';
export { createInProcessBackend, type InProcessBackendOptions } from './in-process-backend.ts';
export { COMFYUI_API_VERSION } from './routes/info-routes.ts';
export { JobRunner, historyEntry, type JobFrames, type PromptRunner } from './job-runner.ts';
export type { WorkerChannel } from './remote-runner.ts';
