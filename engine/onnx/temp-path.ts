// Names for folders written before being renamed into place. pid + time alone collide: worker threads
// of one process share the pid and may start the same write in the same millisecond.
import { randomBytes } from 'node:crypto';

export function uniqueTempPath(target: string): string {
  return `${target}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
}
