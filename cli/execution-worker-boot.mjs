// Worker entry in plain JS: registers tsx so the TypeScript worker module can load, then
// imports it. (Node 20 does not apply `--import tsx` to a worker's own entry file.)
import { register } from 'tsx/esm/api';
import { workerData } from 'node:worker_threads';

register();
await import(workerData.entry);
