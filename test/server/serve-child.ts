// Runs the server in its own process for the restart test: `node --import tsx serve-child.ts
// ROOT` serves the folders under ROOT with the fake nodes and prints its URL as one JSON line.
import { join } from 'node:path';
import { serve } from '../../cli/serve.ts';
import { FAKE_REGISTRY } from './harness.ts';

const root = process.argv[2];
if (!root) throw new Error('usage: serve-child.ts ROOT');
const handle = await serve({
  port: 0,
  registryModule: FAKE_REGISTRY,
  models: join(root, 'models'),
  input: join(root, 'input'),
  output: join(root, 'output'),
  temp: join(root, 'temp'),
  data: join(root, 'data'),
  staticDir: join(root, 'no-ui'),
  log: () => {},
});
process.stdout.write(`${JSON.stringify({ url: handle.url })}\n`);
