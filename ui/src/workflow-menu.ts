// The "Workflows" menu: the workflows shipped in workflows/, listed by the server the way
// ComfyUI lists custom-node templates (GET /api/workflow_templates → {"invgraph": [names]}).
import type { ApiClient } from './api-client.ts';

export const TEMPLATE_MODULE = 'invgraph';

export async function setupWorkflowMenu(select: HTMLSelectElement, api: ApiClient, load: (workflow: unknown, source: string) => void): Promise<void> {
  let names: string[] = [];
  try {
    const templates = await api.getJson<Record<string, string[]>>('/workflow_templates');
    names = templates[TEMPLATE_MODULE] ?? [];
  } catch {
    names = [];
  }
  const placeholder = new Option(names.length ? 'Workflows…' : 'No shipped workflows', '');
  select.replaceChildren(placeholder, ...names.map((name) => new Option(name, name)));
  select.addEventListener('change', async () => {
    const name = select.value;
    select.value = '';
    if (!name) return;
    const response = await api.fetchApi(`/workflow_templates/${TEMPLATE_MODULE}/${encodeURIComponent(name)}.json`);
    if (!response.ok) throw new Error(`Could not load workflow ${name}: ${response.status}`);
    load(await response.json(), `${name}.json`);
  });
}

export function downloadJson(filename: string, value: unknown): void {
  const url = URL.createObjectURL(new Blob([JSON.stringify(value, null, 2)], { type: 'application/json' }));
  const link = document.createElement('a');
  link.href = url;
  link.download = filename;
  link.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
