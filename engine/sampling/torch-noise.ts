// torch.randn(dims, generator=torch.manual_seed(seed)) on the CPU, float32, as ComfyUI draws its initial
// latent noise (comfy/sample.py prepare_noise): mt19937 + ATen's CPU normal kernel. Values match torch to
// float32 rounding (a few ulp: torch uses float libm or, on AVX2, vectorised log/sin/cos approximations,
// while this computes each transcendental in float64 and rounds once). sd15-reference.md §5.7.

const N = 624;
const M = 397;

/** Mersenne Twister mt19937 with the standard init_genrand seeding (torch: low 32 bits of the seed). */
export class Mt19937 {
  private readonly state = new Uint32Array(N);
  private index = N; // the first draw twists first, as torch's `--left_ == 0` check does

  constructor(seed: number) {
    this.state[0] = seed >>> 0;
    for (let i = 1; i < N; i++) {
      const previous = this.state[i - 1] ^ (this.state[i - 1] >>> 30);
      this.state[i] = (Math.imul(1812433253, previous) + i) >>> 0;
    }
  }

  private twist(): void {
    const s = this.state;
    for (let i = 0; i < N; i++) {
      const y = (s[i] & 0x80000000) | (s[(i + 1) % N] & 0x7fffffff);
      s[i] = s[(i + M) % N] ^ (y >>> 1) ^ (y & 1 ? 0x9908b0df : 0);
    }
    this.index = 0;
  }

  nextU32(): number {
    if (this.index >= N) this.twist();
    let y = this.state[this.index++];
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  /** torch random64(): two draws, the first is the high word. */
  nextU64AsUniform53(): number {
    const high = this.nextU32();
    const low = this.nextU32();
    // (high·2^32 + low) & (2^53 − 1), times 2^−53
    return ((high & 0x1fffff) * 4294967296 + low) / 9007199254740992;
  }
}

const f32 = Math.fround;

/** float32 uniform of one draw: (v & (2^24 − 1))·2^−24. */
function uniformF32(engine: Mt19937): number {
  return (engine.nextU32() & 0xffffff) / 16777216;
}

/** ATen normal_fill_16: Box–Muller on 16 uniforms in place, pairing element j with j + 8. */
function normalFill16(data: Float32Array, offset: number): void {
  for (let j = 0; j < 8; j++) {
    const u1 = f32(1 - data[offset + j]);
    const u2 = data[offset + j + 8];
    const radius = f32(Math.sqrt(f32(-2 * f32(Math.log(u1)))));
    const theta = f32(2 * Math.PI * u2);
    data[offset + j] = f32(radius * f32(Math.cos(theta)));
    data[offset + j + 8] = f32(radius * f32(Math.sin(theta)));
  }
}

/** numel ≥ 16 (every SD latent): all uniforms first, Box–Muller per 16-block, and when numel % 16 ≠ 0
 *  the last 16 values are redrawn from fresh uniforms and transformed again. */
function normalFill(engine: Mt19937, count: number): Float32Array {
  const data = new Float32Array(count);
  for (let i = 0; i < count; i++) data[i] = uniformF32(engine);
  for (let i = 0; i + 16 <= count; i += 16) normalFill16(data, i);
  if (count % 16 !== 0) {
    const tail = count - 16;
    for (let i = 0; i < 16; i++) data[tail + i] = uniformF32(engine);
    normalFill16(data, tail);
  }
  return data;
}

/** numel < 16: at::normal_distribution<double> per element, with its cached second value. */
function normalSerial(engine: Mt19937, count: number): Float32Array {
  const data = new Float32Array(count);
  let cached: number | undefined;
  for (let i = 0; i < count; i++) {
    if (cached !== undefined) {
      data[i] = cached;
      cached = undefined;
      continue;
    }
    const u1 = engine.nextU64AsUniform53();
    const u2 = engine.nextU64AsUniform53();
    const radius = Math.sqrt(-2 * Math.log1p(-u2));
    const theta = 2 * Math.PI * u1;
    cached = radius * Math.sin(theta);
    data[i] = radius * Math.cos(theta);
  }
  return data;
}

/** torch.randn(dims) after torch.manual_seed(seed), CPU float32 contiguous. torch's CPU generator keeps
 *  only the low 32 bits of a 64-bit seed, so seeds equal modulo 2^32 give the same noise (as in ComfyUI). */
export function torchRandn(seed: bigint, dims: readonly number[]): Float32Array {
  const count = dims.reduce((n, d) => n * d, 1);
  const engine = new Mt19937(Number(BigInt.asUintN(32, seed)));
  return count >= 16 ? normalFill(engine, count) : normalSerial(engine, count);
}
