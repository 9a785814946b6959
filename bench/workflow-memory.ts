// Benchmark: peak memory and load times of shipped workflows at real size, run as a user runs them
// (`invgraph run`, its execution worker included), with a full-size checkpoint and ControlNet. Each
// workflow runs twice: cold (empty graph cache: graphs built, onnxruntime optimises and saves its form)
// and warm (a new process with the same cache). Memory is the peak resident set of the whole process
// tree, sampled every 50 ms. Prints JSON, with the CPU model and its SIMD flags.
// Make the models: node --import tsx models/generate-random-checkpoint.ts --size full --dtype fp16 --out CKPT
//                  node --import tsx models/generate-random-checkpoint.ts --size full --dtype fp16 --kind controlnet --out CN
// Usage: node --import tsx bench/workflow-memory.ts CKPT CN [--size 512] [--steps 2] [--workflows txt2img,inv-adapter-controlnet]
//        [--memory-budget GB] [--device cpu|cuda|webgpu|auto] (peak GPU memory too, where nvidia-smi answers)
import { execFileSync, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { cpuInfo } from './cpu-info.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    size: { type: 'string', default: '512' },
    steps: { type: 'string', default: '2' },
    workflows: { type: 'string', default: 'txt2img,inv-adapter-controlnet' },
    'memory-budget': { type: 'string' },
    device: { type: 'string', default: 'cpu' },
  },
});
if (positionals.length !== 2) throw new Error('usage: bench/workflow-memory.ts CHECKPOINT CONTROLNET [--size N] [--steps N] [--workflows a,b] [--memory-budget GB]');
const [checkpoint, controlnet] = positionals.map((p) => resolve(p));
const size = Number(values.size);
const steps = Number(values.steps);

/** Resident bytes of a process and all its descendants (from /proc). */
function treeRss(pid: number): number {
  let total = 0;
  try {
    total += Number(readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/)?.[1] ?? 0) * 1024;
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      const children = readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim();
      for (const child of children ? children.split(/\s+/) : []) total += treeRss(Number(child));
    }
  } catch {
    // the process ended between two reads
  }
  return total;
}

/** GPU memory in use (MB, all GPUs), from nvidia-smi; 0 when it cannot be read. */
function gpuMemoryMb(): number {
  try {
    return execFileSync('nvidia-smi', ['--query-gpu=memory.used', '--format=csv,noheader,nounits'], { encoding: 'utf8', timeout: 2000 })
      .trim().split('\n').reduce((sum, line) => sum + Number(line), 0);
  } catch {
    return 0;
  }
}

const HAS_NVIDIA_SMI = (() => { try { execFileSync('nvidia-smi', ['-L'], { stdio: 'ignore', timeout: 5000 }); return true; } catch { return false; } })();

/** The per-workflow --set values that make it run at `size` with the full-size models. */
function sets(workflow: string, ckptName: string, cnName: string): string[] {
  const api = JSON.parse(readFileSync(join(ROOT, 'workflows', `${workflow}.api.json`), 'utf8')) as Record<string, { class_type: string; inputs: Record<string, unknown> }>;
  const out: string[] = [];
  for (const [id, node] of Object.entries(api)) {
    const set = (name: string, value: unknown) => { if (name in node.inputs) out.push('--set', `${id}.${name}=${JSON.stringify(value)}`); };
    switch (node.class_type) {
      case 'CheckpointLoaderSimple': set('ckpt_name', ckptName); break;
      case 'ControlNetLoader': set('control_net_name', cnName); break;
      case 'EmptyLatentImage': set('width', size); set('height', size); break;
      case 'KSampler': case 'DDIMInvert': set('steps', steps); break;
      case 'FaceCrop': set('size', size); break;
      case 'InvAdapterLoader': set('reference_size', size); set('tokens', 256); break;
      case 'LoadImage': if (node.inputs.image === 'face.jpg') set('image', 'face.jpg'); break;
    }
  }
  return out;
}

interface Run { peak_rss_mb: number; peak_gpu_memory_mb: number | null; total_s: number; timings: unknown; model_loads: { name: string; seconds: number }[]; exit: number }

function runOnce(workflow: string, home: string, cacheDir: string): Promise<Run> {
  const args = [join(ROOT, 'bin', 'invgraph.mjs'), 'run', join(ROOT, 'workflows', `${workflow}.json`), '--json',
    '--models', join(home, 'models'), '--input', join(home, 'input'), '--out', join(home, 'output'), '--device', values.device!,
    ...(values['memory-budget'] ? ['--memory-budget', values['memory-budget']] : []),
    ...sets(workflow, basename(checkpoint), basename(controlnet))];
  const started = performance.now();
  const child = spawn(process.execPath, args, { cwd: home, env: { ...process.env, INVGRAPH_CACHE_DIR: cacheDir } });
  let peak = 0;
  let gpuPeak = 0;
  const sampler = setInterval(() => { peak = Math.max(peak, treeRss(child.pid!)); }, 50);
  const gpuSampler = HAS_NVIDIA_SMI ? setInterval(() => { gpuPeak = Math.max(gpuPeak, gpuMemoryMb()); }, 250) : null;
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => { stdout += d; });
  child.stderr.on('data', (d) => { stderr += d; });
  return new Promise((done) => child.on('close', (code) => {
    clearInterval(sampler);
    if (gpuSampler) clearInterval(gpuSampler);
    const loads = [...stderr.matchAll(/(\w[\w-]*) loaded on \w+ in ([\d.]+) s/g)].map((m) => ({ name: m[1], seconds: Number(m[2]) }));
    let timings: unknown = null;
    try { timings = JSON.parse(stdout.trim().split('\n').pop() ?? '').timings; } catch { process.stderr.write(stderr); }
    done({ peak_rss_mb: Math.round(peak / 2 ** 20), peak_gpu_memory_mb: HAS_NVIDIA_SMI ? gpuPeak : null, total_s: Number(((performance.now() - started) / 1000).toFixed(1)), timings, model_loads: loads, exit: code ?? -1 });
  }));
}

const home = mkdtempSync(join(tmpdir(), 'invgraph-bench-home-'));
try {
  for (const dir of ['models/checkpoints', 'models/controlnet', 'input', 'output']) mkdirSync(join(home, dir), { recursive: true });
  // The models are linked in, as an administrator would (symlinks into models/ are followed).
  symlinkSync(checkpoint, join(home, 'models/checkpoints', basename(checkpoint)));
  const yaml = join(dirname(checkpoint), `${basename(checkpoint, extname(checkpoint))}.yaml`);
  if (existsSync(yaml)) symlinkSync(yaml, join(home, 'models/checkpoints', basename(yaml)));
  symlinkSync(controlnet, join(home, 'models/controlnet', basename(controlnet)));
  cpSync(join(ROOT, 'workflows/inputs'), join(home, 'input'), { recursive: true });
  cpSync(join(dirname(createRequire(import.meta.url).resolve('@vladmandic/face-api/package.json')), 'demo', 'sample1.jpg'), join(home, 'input', 'face.jpg'));
  const results: Record<string, { cold: Run; warm: Run }> = {};
  for (const workflow of values.workflows!.split(',')) {
    const cacheDir = join(home, 'cache', workflow);
    const cold = await runOnce(workflow, home, cacheDir);
    const warm = await runOnce(workflow, home, cacheDir);
    results[workflow] = { cold, warm };
  }
  console.log(JSON.stringify({ cpu: cpuInfo(), device: values.device, checkpoint, controlnet, size, steps, memory_budget_gb: values['memory-budget'] ?? 'default (a quarter of RAM)', results }, null, 1));
} finally {
  rmSync(home, { recursive: true, force: true });
}
