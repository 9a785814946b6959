// Entry point of the `invgraph` command: dispatches to `run` (headless workflow) and `serve` (HTTP + ws).
import { runCommand, RUN_USAGE } from './run.ts';
import { convertCommand, CONVERT_USAGE } from './convert.ts';

const USAGE = `invgraph — ComfyUI-compatible node graph engine (SD1.5 + Inv-Adapter on ONNX Runtime)

Commands:
${RUN_USAGE}
${CONVERT_USAGE}
  invgraph serve [--host 127.0.0.1] [--port 8188] [--models DIR] [--input DIR] [--output DIR]
                 [--data DIR] [--device auto|cpu|cuda|webgpu] [--auth-token TOKEN]
      Runs the HTTP + websocket server and the browser editor (see docs/server.md).
  invgraph serve --queue redis://HOST:6379 ...   and on any machine:
  invgraph worker --queue redis://HOST:6379 [--device cuda:N] [--models DIR] [--output DIR] [--concurrency N]
      Many workers: the server queues prompts in Redis, workers run them (docs/server.md "Many workers").
`;

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'run':
      return runCommand(rest);
    case 'convert':
      return convertCommand(rest);
    case 'serve': {
      const { serveCommand } = await import('./serve.ts');
      return serveCommand(rest);
    }
    case 'worker': {
      const { workerCommand } = await import('./worker.ts');
      return workerCommand(rest);
    }
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      process.stdout.write(USAGE);
      return command === undefined ? 2 : 0;
    default:
      process.stderr.write(`invgraph: unknown command "${command}"\n\n${USAGE}`);
      return 2;
  }
}
