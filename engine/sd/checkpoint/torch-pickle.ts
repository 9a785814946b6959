// A restricted unpickler for PyTorch checkpoints: it interprets the pickle opcodes as data only and
// knows a fixed list of globals — tensor rebuilding, storage types, OrderedDict and a few pure helpers,
// about what torch.load(weights_only=True) allows. Any other global (os.system, builtins.eval, a class)
// is refused when the pickle names it, before anything could be called: nothing in a file runs code.

export type StorageDType = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

/** A storage named by a tensor (torch's persistent id): `data/<key>` in the zip. */
export interface StorageRef {
  kind: 'storage';
  key: string;
  dtype: StorageDType;
  /** Elements in the storage. */
  numel: number;
}

export interface TorchTensor {
  kind: 'tensor';
  storage: StorageRef;
  /** In elements. */
  storageOffset: number;
  shape: number[];
  stride: number[];
}

export type PickleValue =
  | null | boolean | number | bigint | string | Uint8Array
  | PickleValue[] | Map<PickleKey, PickleValue> | StorageRef | TorchTensor | PickleGlobal | Inert;
export type PickleKey = PickleValue;

/** A known global: a pure function of its arguments, or a storage type. */
interface PickleGlobal {
  kind: 'global';
  name: string;
  call?: (args: PickleValue[]) => PickleValue;
  storage?: StorageDType;
}

/** Training-state objects we do not need (as ComfyUI's checkpoint_pickle): inert, their state is dropped. */
interface Inert {
  kind: 'inert';
  name: string;
}

export class TorchPickleError extends Error {}

const STORAGE_TYPES: Record<string, StorageDType> = {
  DoubleStorage: 'F64', FloatStorage: 'F32', HalfStorage: 'F16', BFloat16Storage: 'BF16', LongStorage: 'I64',
  IntStorage: 'I32', ShortStorage: 'I16', CharStorage: 'I8', ByteStorage: 'U8', BoolStorage: 'BOOL', UntypedStorage: 'U8',
};

const isInt = (v: PickleValue): v is number => typeof v === 'number' && Number.isSafeInteger(v);
const intList = (v: PickleValue): v is number[] => Array.isArray(v) && v.every((x) => isInt(x) && x >= 0);

function rebuildTensor(args: PickleValue[]): TorchTensor {
  const [storage, offset, size, stride] = args;
  if (typeof storage !== 'object' || storage === null || !('kind' in storage) || storage.kind !== 'storage' || !isInt(offset) || offset < 0 || !intList(size) || !intList(stride) || size.length !== stride.length) {
    throw new TorchPickleError('a tensor record is malformed (expected storage, offset, size, stride)');
  }
  return { kind: 'tensor', storage, storageOffset: offset, shape: size, stride };
}

const fn = (name: string, call: (args: PickleValue[]) => PickleValue): PickleGlobal => ({ kind: 'global', name, call });

function knownGlobal(module: string, name: string): PickleGlobal | Inert | undefined {
  const full = `${module}.${name}`;
  switch (full) {
    case 'collections.OrderedDict':
    case 'builtins.dict':
      return fn(full, () => new Map());
    case 'torch._utils._rebuild_tensor':
    case 'torch._utils._rebuild_tensor_v2':
      return fn(full, rebuildTensor);
    case 'torch._utils._rebuild_parameter':
    case 'torch._utils._rebuild_parameter_with_state':
      return fn(full, (args) => args[0]);
    case 'torch.Size':
      return fn(full, (args) => (Array.isArray(args[0]) ? args[0] : []));
    case '_codecs.encode':
      // How protocol 2 pickles Python 3 bytes: encode(text, 'latin1').
      return fn(full, ([text]) => (typeof text === 'string' ? Uint8Array.from(Buffer.from(text, 'latin1')) : new Uint8Array()));
    case 'builtins.bytearray':
      return fn(full, ([x]) => (x instanceof Uint8Array ? x : new Uint8Array()));
  }
  if (module === 'torch' && name in STORAGE_TYPES) return { kind: 'global', name: full, storage: STORAGE_TYPES[name] };
  if (module.startsWith('pytorch_lightning.callbacks') || module.startsWith('lightning.pytorch.callbacks')) return { kind: 'inert', name: full };
  return undefined;
}

/** Limits of what a pickle may build, so a crafted file cannot exhaust memory. */
const MAX_STACK = 1_000_000;
const MAX_MEMO = 10_000_000;

class Reader {
  at = 0;
  constructor(readonly bytes: Uint8Array) {}
  need(n: number): void {
    if (this.at + n > this.bytes.length) throw new TorchPickleError('the pickle ends in the middle of an instruction (truncated)');
  }
  u8(): number { this.need(1); return this.bytes[this.at++]; }
  view(n: number): DataView { this.need(n); const v = new DataView(this.bytes.buffer, this.bytes.byteOffset + this.at, n); this.at += n; return v; }
  u16(): number { return this.view(2).getUint16(0, true); }
  u32(): number { return this.view(4).getUint32(0, true); }
  i32(): number { return this.view(4).getInt32(0, true); }
  u64(): number {
    const v = this.view(8).getBigUint64(0, true);
    if (v > BigInt(this.bytes.length)) throw new TorchPickleError('a length in the pickle is larger than the pickle');
    return Number(v);
  }
  take(n: number): Uint8Array { this.need(n); const out = this.bytes.subarray(this.at, this.at + n); this.at += n; return out; }
  line(): string {
    const end = this.bytes.indexOf(0x0a, this.at);
    if (end < 0) throw new TorchPickleError('the pickle ends inside a GLOBAL name');
    const text = Buffer.from(this.bytes.subarray(this.at, end)).toString('utf8');
    this.at = end + 1;
    return text;
  }
}

function signedLittleEndian(bytes: Uint8Array): number | bigint {
  let v = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[i]);
  if (bytes.length && bytes[bytes.length - 1] & 0x80) v -= 1n << BigInt(8 * bytes.length);
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

const utf8 = (b: Uint8Array) => new TextDecoder('utf-8', { fatal: false }).decode(b);

/**
 * Unpickles `bytes`. `persistentLoad` turns a persistent id (torch: ('storage', type, key, location, numel))
 * into a value. Throws TorchPickleError for unknown globals, unsupported opcodes and malformed input.
 */
export function unpickle(bytes: Uint8Array, persistentLoad: (pid: PickleValue) => PickleValue): PickleValue {
  const r = new Reader(bytes);
  const stack: PickleValue[] = [];
  const marks: number[] = [];
  const memo = new Map<number, PickleValue>();
  const pop = (): PickleValue => {
    if (stack.length === 0 || (marks.length && stack.length <= marks[marks.length - 1])) throw new TorchPickleError('the pickle pops from an empty stack');
    return stack.pop()!;
  };
  const popMark = (): PickleValue[] => {
    const m = marks.pop();
    if (m === undefined) throw new TorchPickleError('the pickle closes a MARK it never opened');
    return stack.splice(m);
  };
  const top = (): PickleValue => {
    if (stack.length === 0) throw new TorchPickleError('the pickle reads an empty stack');
    return stack[stack.length - 1];
  };
  const push = (v: PickleValue) => {
    if (stack.length >= MAX_STACK) throw new TorchPickleError(`the pickle stack exceeds ${MAX_STACK} items`);
    stack.push(v);
  };
  const put = (i: number) => {
    if (memo.size >= MAX_MEMO && !memo.has(i)) throw new TorchPickleError('the pickle memo is too large');
    memo.set(i, top());
  };
  const get = (i: number) => {
    if (!memo.has(i)) throw new TorchPickleError(`the pickle reads memo slot ${i}, which was never set`);
    push(memo.get(i)!);
  };
  const asDict = (v: PickleValue, op: string): Map<PickleKey, PickleValue> => {
    if (!(v instanceof Map)) throw new TorchPickleError(`${op} on something that is not a dict`);
    return v;
  };
  const asList = (v: PickleValue, op: string): PickleValue[] => {
    if (!Array.isArray(v)) throw new TorchPickleError(`${op} on something that is not a list`);
    return v;
  };
  const global = (module: string, name: string) => {
    const known = knownGlobal(module, name);
    if (!known) {
      throw new TorchPickleError(`the pickle references ${module}.${name}, which is not tensor data; refusing to load it (only tensors, storages and plain containers are read, never code)`);
    }
    push(known);
  };
  const call = (callable: PickleValue, args: PickleValue, op: string) => {
    if (typeof callable === 'object' && callable !== null && 'kind' in callable) {
      if (callable.kind === 'inert') return push({ kind: 'inert', name: callable.name });
      if (callable.kind === 'global' && callable.call) return push(callable.call(Array.isArray(args) ? args : []));
    }
    throw new TorchPickleError(`${op} calls something that is not a known function`);
  };

  for (;;) {
    const op = r.u8();
    switch (op) {
      case 0x80: r.u8(); break; // PROTO
      case 0x95: r.u64(); break; // FRAME (a size hint)
      case 0x2e: // STOP
        if (stack.length !== 1) throw new TorchPickleError(`the pickle stops with ${stack.length} values on the stack`);
        return stack[0];
      case 0x28: marks.push(stack.length); break; // MARK
      case 0x30: pop(); break; // POP
      case 0x31: popMark(); break; // POP_MARK
      case 0x32: push(top()); break; // DUP
      case 0x4e: push(null); break; // NONE
      case 0x88: push(true); break; // NEWTRUE
      case 0x89: push(false); break; // NEWFALSE
      case 0x4a: push(r.i32()); break; // BININT
      case 0x4b: push(r.u8()); break; // BININT1
      case 0x4d: push(r.u16()); break; // BININT2
      case 0x8a: push(signedLittleEndian(r.take(r.u8()))); break; // LONG1
      case 0x8b: push(signedLittleEndian(r.take(r.u32()))); break; // LONG4
      case 0x47: push(r.view(8).getFloat64(0, false)); break; // BINFLOAT (big-endian)
      case 0x58: push(utf8(r.take(r.u32()))); break; // BINUNICODE
      case 0x8c: push(utf8(r.take(r.u8()))); break; // SHORT_BINUNICODE
      case 0x8d: push(utf8(r.take(r.u64()))); break; // BINUNICODE8
      case 0x55: push(Buffer.from(r.take(r.u8())).toString('latin1')); break; // SHORT_BINSTRING
      case 0x54: push(Buffer.from(r.take(r.u32())).toString('latin1')); break; // BINSTRING
      case 0x43: push(r.take(r.u8()).slice()); break; // SHORT_BINBYTES
      case 0x42: push(r.take(r.u32()).slice()); break; // BINBYTES
      case 0x8e: push(r.take(r.u64()).slice()); break; // BINBYTES8
      case 0x7d: push(new Map()); break; // EMPTY_DICT
      case 0x5d: push([]); break; // EMPTY_LIST
      case 0x29: push([]); break; // EMPTY_TUPLE
      case 0x8f: push([]); break; // EMPTY_SET (kept as a list)
      case 0x74: push(popMark()); break; // TUPLE
      case 0x85: push([pop()]); break; // TUPLE1
      case 0x86: { const b = pop(); const a = pop(); push([a, b]); break; } // TUPLE2
      case 0x87: { const c = pop(); const b = pop(); const a = pop(); push([a, b, c]); break; } // TUPLE3
      case 0x6c: push(popMark()); break; // LIST
      case 0x91: push(popMark()); break; // FROZENSET
      case 0x61: { const v = pop(); asList(top(), 'APPEND').push(v); break; } // APPEND
      case 0x65: case 0x90: { const items = popMark(); asList(top(), 'APPENDS').push(...items); break; } // APPENDS, ADDITEMS
      case 0x64: { // DICT
        const items = popMark();
        const d = new Map<PickleKey, PickleValue>();
        for (let i = 0; i + 1 < items.length; i += 2) d.set(items[i], items[i + 1]);
        push(d);
        break;
      }
      case 0x73: { const v = pop(); const k = pop(); asDict(top(), 'SETITEM').set(k, v); break; } // SETITEM
      case 0x75: { // SETITEMS
        const items = popMark();
        const d = asDict(top(), 'SETITEMS');
        for (let i = 0; i + 1 < items.length; i += 2) d.set(items[i], items[i + 1]);
        break;
      }
      case 0x71: put(r.u8()); break; // BINPUT
      case 0x72: put(r.u32()); break; // LONG_BINPUT
      case 0x94: put(memo.size); break; // MEMOIZE
      case 0x68: get(r.u8()); break; // BINGET
      case 0x6a: get(r.u32()); break; // LONG_BINGET
      case 0x63: { const module = r.line(); global(module, r.line()); break; } // GLOBAL
      case 0x93: { // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') throw new TorchPickleError('STACK_GLOBAL with non-string names');
        global(module, name);
        break;
      }
      case 0x52: { const args = pop(); call(pop(), args, 'REDUCE'); break; } // REDUCE
      case 0x81: { const args = pop(); call(pop(), args, 'NEWOBJ'); break; } // NEWOBJ
      case 0x62: pop(); break; // BUILD: object state (e.g. a state_dict's _metadata) is not needed
      case 0x51: push(persistentLoad(pop())); break; // BINPERSID
      default:
        throw new TorchPickleError(`the pickle uses opcode 0x${op.toString(16)} at byte ${r.at - 1}, which this reader does not accept (only data opcodes of protocols 2-5)`);
    }
  }
}

/** torch's persistent id ('storage', StorageType, key, location, numel) → a storage reference. */
export function torchStorageRef(pid: PickleValue): StorageRef {
  if (!Array.isArray(pid) || pid[0] !== 'storage' || pid.length < 5) throw new TorchPickleError('a persistent id is not a torch storage record');
  const [, type, key, , numel] = pid;
  const dtype = typeof type === 'object' && type !== null && 'kind' in type && type.kind === 'global' ? type.storage : undefined;
  if (!dtype) throw new TorchPickleError('a storage record names no known storage type');
  if (typeof key !== 'string' || !/^[\w.-]+$/.test(key)) throw new TorchPickleError(`a storage key ${JSON.stringify(key)} is not a plain name`);
  if (!isInt(numel) || numel < 0) throw new TorchPickleError('a storage record has a bad element count');
  return { kind: 'storage', key, dtype, numel };
}

export function isTorchTensor(v: PickleValue | undefined): v is TorchTensor {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Map) && !(v instanceof Uint8Array) && 'kind' in v && v.kind === 'tensor';
}
