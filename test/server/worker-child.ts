// An `invgraph worker` in its own process, for the multi-worker tests (so one can be killed -9):
// `node --import tsx worker-child.ts 'JSON WorkerOptions'` prints one line when it takes prompts.
import { startWorker, type WorkerOptions } from '../../cli/worker.ts';

const options = JSON.parse(process.argv[2] ?? '{}') as WorkerOptions;
const handle = await startWorker({ ...options, log: (m) => process.stderr.write(`[worker] ${m}\n`) });
process.stdout.write(`${JSON.stringify({ id: handle.id })}\n`);
process.once('SIGTERM', () => {
  void handle.close().then(() => process.exit(0));
});
