// `npm run parity -- FIXTURE_DIR [--out FILE.safetensors] [--section NAME ...]`: recomputes every golden
// tensor of a fixture folder with invgraph's code, writes them as `<fixture stem>/<key>`, and prints a
// JSON summary of the errors. Exits 1 when a tensor is outside tolerance.
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { runParity, writeParityOutput, SECTIONS } from './parity/run-parity.ts';
import type { SectionName } from './parity/run-parity.ts';
import { RELATIVE_TOLERANCE } from './parity/compare.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { out: { type: 'string' }, section: { type: 'string', multiple: true }, cache: { type: 'string' } },
});
if (positionals.length !== 1) {
  process.stderr.write(`usage: npm run parity -- FIXTURE_DIR [--out FILE.safetensors] [--section ${Object.keys(SECTIONS).join('|')} ...]\n`);
  process.exit(2);
}
const sections = values.section as SectionName[] | undefined;
for (const s of sections ?? []) {
  if (!(s in SECTIONS)) {
    process.stderr.write(`unknown section "${s}"; choose from ${Object.keys(SECTIONS).join(', ')}\n`);
    process.exit(2);
  }
}
const started = performance.now();
const log = await runParity(resolve(positionals[0]), { sections, cacheDir: values.cache ? resolve(values.cache) : undefined });
if (values.out) writeParityOutput(resolve(values.out), log);
const summary = {
  fixture: resolve(positionals[0]),
  tolerance: `max|a-b| <= ${RELATIVE_TOLERANCE} * (1 + max|ref|)`,
  seconds: Number(((performance.now() - started) / 1000).toFixed(2)),
  compared: log.reports.length,
  failed: log.failed.map((r) => r.key),
  tensors: Object.fromEntries(log.reports.map((r) => [r.key, { max_abs: r.max_abs_error, max_ref: r.max_abs_reference, rel: r.relative_error, ok: r.ok, ...(r.note ? { note: r.note } : {}) }])),
  output: values.out ? resolve(values.out) : null,
};
process.stdout.write(`${JSON.stringify(summary, null, 1)}\n`);
process.exitCode = log.failed.length === 0 ? 0 : 1;
