// ComfyUI's socket type matching (comfyui-api.md §6.2): equal names match, "*" matches
// anything, and comma lists ("FLOAT,INT") match when the two sets share a name.
import { socketTypesMatch } from '../../engine/graph/workflow-convert.ts';

/** The same rule the shared conversion uses for bypassed nodes. */
export const typesMatch = socketTypesMatch;

/** A stable colour per type name so sockets and links of one type look alike. */
const KNOWN_COLOURS: Record<string, string> = {
  MODEL: '#b39ddb', CLIP: '#ffd500', VAE: '#ff6e6e', CONDITIONING: '#ffa931', LATENT: '#ff9cf9',
  IMAGE: '#64b5f6', MASK: '#81c784', CONTROL_NET: '#00d78d', INT: '#29699c', FLOAT: '#a1d6ff',
  STRING: '#9ccc65', BOOLEAN: '#f48fb1', FACE_CROP: '#ffab40', INVERSION: '#4dd0e1',
  DIFFUSION_FEATURES: '#ce93d8', INV_ADAPTER: '#e6ee9c',
};

export function typeColour(type: string): string {
  const known = KNOWN_COLOURS[type];
  if (known) return known;
  let hash = 0;
  for (const ch of type) hash = (hash * 31 + ch.charCodeAt(0)) | 0;
  return `hsl(${Math.abs(hash) % 360}, 60%, 65%)`;
}
