// Entry of the execution worker process in plain JS: registers tsx so the TypeScript worker module
// can load, then imports it (its URL is the first argument).
import { register } from 'tsx/esm/api';

register();
await import(process.argv[2]);
