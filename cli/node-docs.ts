// Writes docs/nodes.md, the reference of every node, from the node definitions themselves (so the docs
// cannot drift from the code: test/node-docs.test.ts compares the file with this output).
//   node --import tsx cli/node-docs.ts > docs/nodes.md
import type { InputSpec, NodeDefinition, NodeRegistry } from '../engine/graph/index.ts';
import { createRegistry } from '../nodes/index.ts';

function describeInput(spec: InputSpec): string {
  switch (spec.kind) {
    case 'LINK':
      return spec.type;
    case 'SEED':
      return `INT (seed, 0 … 2^64−1${spec.default !== undefined ? `, default ${spec.default}` : ''})`;
    case 'COMBO':
      return Array.isArray(spec.options) ? `one of ${(spec.options as readonly string[]).map((o) => `\`${o}\``).join(', ')}` : 'a file name from its folder';
    case 'INT':
    case 'FLOAT': {
      const range = [spec.min !== undefined ? `min ${spec.min}` : '', spec.max !== undefined ? `max ${spec.max}` : ''].filter(Boolean).join(', ');
      return `${spec.kind}${spec.default !== undefined ? ` = ${spec.default}` : ''}${range ? ` (${range})` : ''}`;
    }
    case 'STRING':
      return `STRING${spec.default ? ` = "${spec.default}"` : ''}`;
    case 'BOOLEAN':
      return `BOOLEAN${spec.default !== undefined ? ` = ${spec.default}` : ''}`;
  }
}

function nodeSection(node: NodeDefinition): string {
  const lines = [`### ${node.name}${node.displayName && node.displayName !== node.name ? ` — ${node.displayName}` : ''}`, '', node.description, ''];
  const inputs = [...Object.entries(node.inputs.required), ...Object.entries(node.inputs.optional ?? {}).map(([n, s]) => [`${n} (optional)`, s] as const)];
  if (inputs.length > 0) lines.push('Inputs:', ...inputs.map(([name, spec]) => `- \`${name}\`: ${describeInput(spec as InputSpec)}${(spec as InputSpec).tooltip ? ` — ${(spec as InputSpec).tooltip}` : ''}`), '');
  const outputs = node.outputs.map((o) => `\`${o.name ?? o.type}\` (${o.type})`).join(', ');
  lines.push(`Outputs: ${outputs || 'none'}${node.outputNode ? ' · output node' : ''}${node.deprecated ? ' · deprecated' : ''}`, '');
  return lines.join('\n');
}

export function nodeReference(registry: NodeRegistry): string {
  const byCategory = new Map<string, NodeDefinition[]>();
  for (const node of registry.values()) byCategory.set(node.category, [...(byCategory.get(node.category) ?? []), node]);
  const parts = ['# Node reference', '', 'Generated from the node definitions by `node --import tsx cli/node-docs.ts > docs/nodes.md`.', ''];
  for (const category of [...byCategory.keys()].sort()) {
    parts.push(`## ${category}`, '', ...byCategory.get(category)!.map(nodeSection));
  }
  return `${parts.join('\n').trimEnd()}\n`;
}

if (import.meta.url === `file://${process.argv[1]}`) process.stdout.write(nodeReference(createRegistry()));
