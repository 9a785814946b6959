// How `invgraph run` reports a failure: on a terminal one readable line per problem (the node, what
// went wrong, what to do); the full ComfyUI-shaped structure (node_errors, traceback) with --json or
// when stderr is not a terminal (scripts parse it).

interface ReportedError {
  type?: string;
  message?: string;
  details?: string;
  exception_message?: string;
  exception_type?: string;
  node_id?: string;
  node_type?: string;
}

interface NodeErrorEntry {
  class_type?: string;
  errors?: { message?: string; details?: string }[];
}

export function readableError(error: unknown, nodeErrors?: unknown): string {
  const lines: string[] = [];
  const e = (typeof error === 'object' && error !== null ? error : { message: String(error) }) as ReportedError;
  if (e.exception_message !== undefined) {
    const where = e.node_id ? `node ${e.node_id} (${e.node_type ?? '?'})` : 'the run';
    lines.push(`error: ${where} failed: ${e.exception_message.trim()}${e.exception_type ? ` [${e.exception_type}]` : ''}`);
  } else if (e.message !== undefined) {
    lines.push(`error: ${e.message}${e.details ? `: ${e.details}` : ''}`);
  }
  if (typeof nodeErrors === 'object' && nodeErrors !== null) {
    for (const [nodeId, entry] of Object.entries(nodeErrors as Record<string, NodeErrorEntry>)) {
      for (const problem of entry.errors ?? []) {
        lines.push(`  node ${nodeId} (${entry.class_type ?? '?'}): ${problem.message ?? 'invalid'}${problem.details ? `: ${problem.details}` : ''}`);
      }
    }
  }
  lines.push('(--json prints the full report)');
  return `${lines.join('\n')}\n`;
}
