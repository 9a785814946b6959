// Child process for the one-time onnxruntime optimisation of a built graph (optimized-model.ts). The
// optimisation folds fp16→fp32 casts and transposes of every weight in memory (a full SD1.5 UNet peaks at
// several GB beyond the session itself); done here, that memory goes back to the system when this process
// exits instead of staying in the serving process's heap. Prepacking is off: this session never runs.
// argv[2]: JSON { model, options } with `options` onnxruntime SessionOptions (optimizedModelFilePath set).
import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';

const { model, options } = JSON.parse(process.argv[2]);
options.extra = { ...options.extra, session: { ...options.extra?.session, disable_prepacking: '1' } };
try {
  const session = await ort.InferenceSession.create(readFileSync(model), options);
  await session.release();
} catch (error) {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}
