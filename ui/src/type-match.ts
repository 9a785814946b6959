// ComfyUI's socket type matching (comfyui-api.md §6.2): equal names match, "*" matches
// anything, and comma lists ("FLOAT,INT") match when the two sets share a name.

export function typesMatch(output: unknown, input: unknown): boolean {
  const a = typeName(output);
  const b = typeName(input);
  if (a === b || a === '*' || b === '*') return true;
  const left = a.split(',').map((t) => t.trim());
  const right = new Set(b.split(',').map((t) => t.trim()));
  return left.some((t) => t === '*' || right.has(t) || right.has('*'));
}

/** Slot types may be a string, an array of names, or 0 / "" (litegraph's "any"). */
function typeName(type: unknown): string {
  if (Array.isArray(type)) return type.map(String).join(',');
  if (type === 0 || type === '' || type === undefined || type === null) return '*';
  return String(type);
}

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
