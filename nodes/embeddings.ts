// `embedding:NAME` lookups for CLIPTextEncode: NAME, then NAME.safetensors / .pt / .bin, in models/embeddings (and
// extra_model_paths.yaml's embeddings folders), as ComfyUI's load_embed. A name that leaves the folders is no match.
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Folders } from '../engine/graph/index.ts';
import { normalizeRelativeName } from '../engine/files/index.ts';
import { readEmbedding } from '../engine/sd/index.ts';
import { modelFolders } from './model-files.ts';

const EXTENSIONS = ['', '.safetensors', '.pt', '.bin'];

/** The vectors of embedding NAME for a text encoder of this width; null when there is no such file. */
export function embeddingLookup(folders: Folders, width: number): (name: string) => Float32Array[] | null {
  return (name) => {
    let normal: string;
    try {
      normal = normalizeRelativeName(name);
    } catch {
      return null;
    }
    for (const folder of modelFolders(folders, 'embeddings')) {
      for (const ext of EXTENSIONS) {
        const path = join(folder, normal + ext);
        if (existsSync(path) && statSync(path).isFile()) return readEmbedding(path, width);
      }
    }
    return null;
  };
}
