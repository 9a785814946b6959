// Symbolic tensor dimensions for build-time shape checks. A dim is a number or a monomial over named
// sizes written canonically ("H", "H/8", "2*H", "H*W/64"); symbolic sizes are assumed divisible by the
// strides applied to them (onnxruntime checks the real sizes at run time).

export type Dim = number | string;
export type Shape = readonly Dim[];

interface Mono { num: number; den: number; syms: string[] }

function gcd(a: number, b: number): number {
  return b === 0 ? Math.abs(a) : gcd(b, a % b);
}

function parse(d: Dim): Mono {
  if (typeof d === 'number') return { num: d, den: 1, syms: [] };
  const [top, den = '1'] = d.split('/');
  let num = 1;
  const syms: string[] = [];
  for (const part of top.split('*')) {
    if (/^\d+$/.test(part)) num *= Number(part);
    else if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(part)) syms.push(part);
    else throw new Error(`bad symbolic dim '${d}'`);
  }
  return { num, den: Number(den), syms };
}

function format(m: Mono): Dim {
  const g = gcd(m.num, m.den);
  const num = m.num / g;
  const den = m.den / g;
  if (m.syms.length === 0) {
    if (den !== 1) throw new Error(`dimension ${m.num}/${m.den} is not a whole number`);
    return num;
  }
  const syms = [...m.syms].sort();
  return (num === 1 ? '' : `${num}*`) + syms.join('*') + (den === 1 ? '' : `/${den}`);
}

export function mulDims(a: Dim, b: Dim): Dim {
  const x = parse(a);
  const y = parse(b);
  if (x.num === 0 || y.num === 0) return 0;
  return format({ num: x.num * y.num, den: x.den * y.den, syms: [...x.syms, ...y.syms] });
}

export function divDim(a: Dim, by: number): Dim {
  const x = parse(a);
  if (typeof a === 'number' && a % by !== 0) throw new Error(`dimension ${a} is not divisible by ${by}`);
  return format({ ...x, den: x.den * by });
}

export function product(shape: Shape): Dim {
  return shape.reduce<Dim>((acc, d) => mulDims(acc, d), 1);
}

export function sameDim(a: Dim, b: Dim): boolean {
  return a === b;
}

export function formatShape(shape: Shape): string {
  return `[${shape.join(',')}]`;
}

/**
 * Output size of a convolution / pooling window along one axis:
 * floor((n + padTotal - kernel) / stride) + 1. Symbolic sizes support the "same"-like cases only.
 */
export function convOutDim(n: Dim, kernel: number, stride: number, padTotal: number): Dim {
  const slack = padTotal - kernel + stride;
  if (typeof n === 'number') return Math.floor((n + padTotal - kernel) / stride) + 1;
  if (slack >= 0 && slack < stride) return stride === 1 ? n : divDim(n, stride);
  throw new Error(`symbolic size ${n} with kernel ${kernel}, stride ${stride}, padding ${padTotal} is not supported`);
}
