// A taker in its own process, for the kill -9 test: `take-and-hang.ts PORT PREFIX LOCK_MS` takes one
// job, prints its prompt id, and keeps renewing the lock until it is killed.
import { openRedisQueue } from '../redis/redis-job-queue.ts';

const [port, prefix, lockMs] = process.argv.slice(2);
const queue = openRedisQueue({ connection: { host: '127.0.0.1', port: Number(port), db: 0 }, prefix, lockMs: Number(lockMs) });
for (;;) {
  const job = await queue.take();
  if (job) {
    process.stdout.write(`${job.promptId}\n`);
    break;
  }
}
setInterval(() => {}, 1000);
