// The one declarative shape of a node: inputs with widget specs, outputs, flags and `run`.
// /object_info JSON (comfyui-api.md §4), ajv input validation and the editor's widgets all
// derive from these values; the executor runs them without knowing any particular node.

/** Values that travel between nodes, by ComfyUI socket type. Engine folders add their own
 *  types by declaration merging (`declare module '../graph/node-definition.ts'`). */
// eslint-disable-next-line @typescript-eslint/no-empty-interface
export interface WireTypes {}

interface CommonInputOptions {
  tooltip?: string;
  /** Widget-capable type shown only as a socket (no widget, no widgets_values slot). */
  forceInput?: boolean;
  /** The executor does not follow this link unless the node asks for it (§6.7). */
  lazy?: boolean;
  /** Display name in the editor (new-style nodes). */
  displayName?: string;
}

export interface IntInput extends CommonInputOptions {
  kind: 'INT';
  default?: number;
  min?: number;
  max?: number;
  step?: number;
  display?: 'number' | 'slider';
  /** Adds the editor's "control after generate" widget (seed-like inputs). */
  controlAfterGenerate?: boolean;
}

/** A 64-bit unsigned integer such as a seed: advertised as INT with max 2^64-1, delivered
 *  to `run` as a bigint so values above 2^53 keep their exact value (comfyui-api.md §10). */
export interface SeedInput extends CommonInputOptions {
  kind: 'SEED';
  default?: number;
  controlAfterGenerate?: boolean;
}

export interface FloatInput extends CommonInputOptions {
  kind: 'FLOAT';
  default?: number;
  min?: number;
  max?: number;
  step?: number;
  round?: number | false;
  display?: 'number' | 'slider';
}

export interface StringInput extends CommonInputOptions {
  kind: 'STRING';
  default?: string;
  multiline?: boolean;
  dynamicPrompts?: boolean;
  placeholder?: string;
  /** Upper bound on the string's length in characters; validation rejects longer values. */
  maxLength?: number;
}

export interface BooleanInput extends CommonInputOptions {
  kind: 'BOOLEAN';
  default?: boolean;
  labelOn?: string;
  labelOff?: string;
}

/** Classic COMBO: the allowed values, fixed or computed on each /object_info and validation
 *  (e.g. the files in models/checkpoints). */
export interface ComboInput extends CommonInputOptions {
  kind: 'COMBO';
  options: readonly string[] | ((env: DefinitionEnv) => string[]);
  default?: string;
  /** LoadImage: the editor shows an upload button and preview. */
  imageUpload?: boolean;
  /** Which folder an image COMBO lists: input (default), output or temp. */
  imageFolder?: 'input' | 'output' | 'temp';
  controlAfterGenerate?: boolean;
  /** Where computed options come from (e.g. the folders searched), named when a value is not
   *  among them, so "not in []" says which folder was empty. */
  source?: (env: DefinitionEnv) => string;
}

/** A socket that only takes a link, typed by a ComfyUI type name (MODEL, IMAGE, "*", ...). */
export interface LinkInput<T extends string = string> extends CommonInputOptions {
  kind: 'LINK';
  type: T;
}

export type InputSpec = IntInput | SeedInput | FloatInput | StringInput | BooleanInput | ComboInput | LinkInput;

export type HiddenInput = 'PROMPT' | 'EXTRA_PNGINFO' | 'UNIQUE_ID';

export interface OutputSpec {
  type: string;
  name?: string;
  isList?: boolean;
  tooltip?: string;
}

/** What computed COMBO options and validators may look at: the folders of this server. */
export interface DefinitionEnv {
  folders: Folders;
}

export interface Folders {
  input: string;
  output: string;
  temp: string;
  models: string;
  /** More folders per model type (extra_model_paths.yaml), searched after `models/<type>`. */
  extraModels?: Readonly<Record<string, readonly string[]>>;
}

// ---- value types a node's `run` receives, derived from its input specs ----

type LinkValue<T extends string> = T extends keyof WireTypes ? WireTypes[T] : unknown;

export type InputValue<S extends InputSpec> = S extends IntInput
  ? number
  : S extends SeedInput
    ? bigint
    : S extends FloatInput
      ? number
      : S extends StringInput
        ? string
        : S extends BooleanInput
          ? boolean
          : S extends ComboInput
            ? string
            : S extends LinkInput<infer T>
              ? LinkValue<T>
              : never;

export interface InputGroups {
  required: Record<string, InputSpec>;
  optional?: Record<string, InputSpec>;
  hidden?: Record<string, HiddenInput>;
}

type HiddenValue<H extends HiddenInput> = H extends 'PROMPT'
  ? Record<string, unknown>
  : H extends 'EXTRA_PNGINFO'
    ? Record<string, unknown> | undefined
    : string;

export type InputValues<G extends InputGroups> = { [K in keyof G['required']]: InputValue<G['required'][K]> } & {
  [K in keyof NonNullable<G['optional']>]?: InputValue<NonNullable<G['optional']>[K]>;
} & { [K in keyof NonNullable<G['hidden']>]: HiddenValue<NonNullable<G['hidden']>[K]> };

// ---- what `run` gets besides its inputs ----

/** A preview frame for the editor (binary websocket preview), already encoded. */
export interface PreviewFrame {
  format: 'JPEG' | 'PNG';
  data: Uint8Array;
}

export interface NodeContext {
  nodeId: string;
  /** The prompt being run (absent when a node runs outside a job, e.g. in some tests). */
  promptId?: string;
  classType: string;
  folders: Folders;
  /** Report progress (value of max); also the point where an interrupt is noticed. */
  progress(value: number, max: number, preview?: PreviewFrame): void;
  /** Throws InterruptedError if the user interrupted; long loops call it every step. */
  throwIfInterrupted(): void;
  /** Aborted when the prompt is interrupted (for APIs that take an AbortSignal). */
  signal: AbortSignal;
  /** Free-form status text for logs / CLI (e.g. "building UNet graph"). */
  log(message: string): void;
  /** Shared, long-lived services (model runtime, caches) provided by whoever hosts the executor. */
  services: NodeServices;
  /** The declared spec of any node class's input (e.g. to write a prompt's FLOAT values as Python
   *  floats in PNG metadata); undefined for unknown classes or inputs. */
  inputSpec(classType: string, inputName: string): InputSpec | undefined;
}

/** Services the host provides to nodes; engine folders extend it by declaration merging. */
// eslint-disable-next-line @typescript-eslint/no-empty-interface
export interface NodeServices {}

/** UI output of a node (becomes the `executed` message and history `outputs`). */
export type UiOutput = Record<string, unknown[]>;

export interface NodeResult {
  outputs: unknown[];
  ui?: UiOutput;
}

export interface NodeDefinition<G extends InputGroups = InputGroups> {
  name: string;
  displayName?: string;
  category: string;
  description: string;
  inputs: G;
  outputs: readonly OutputSpec[];
  outputNode?: boolean;
  deprecated?: boolean;
  experimental?: boolean;
  /** Shown as the node's source badge by the official frontend. */
  pythonModule?: string;
  /** Called with the full lists of values instead of once per list element (§6.4). */
  inputIsList?: boolean;
  /** The result joins the cache key; NaN means "always re-run" (§6.6). Constant inputs only. */
  fingerprint?(inputs: Partial<Record<string, unknown>>, env: DefinitionEnv): unknown | Promise<unknown>;
  /** Custom validation of constant inputs; the named inputs skip the min/max/COMBO checks.
   *  Returns true or an error message. */
  validate?: {
    inputs: readonly string[];
    check(inputs: Partial<Record<string, unknown>>, env: DefinitionEnv): true | string | Promise<true | string>;
  };
  /** For lazy inputs: which of them are needed given the values available so far. */
  checkLazyStatus?(inputs: Partial<Record<string, unknown>>): string[];
  run(inputs: InputValues<G>, ctx: NodeContext): NodeResult | Promise<NodeResult>;
}

/** Identity helper that keeps a node's input types precise (no `any`). */
export function defineNode<const G extends InputGroups>(definition: NodeDefinition<G>): NodeDefinition<G> {
  return definition;
}

/** A registry is a plain map from class name to definition; `nodes/index.ts` builds it. */
export type NodeRegistry = ReadonlyMap<string, NodeDefinition>;
