// The node palette: every node type from /object_info grouped by category, with a search box.
// Click adds the node in the middle of the view; drag drops it where the pointer lands.
import type { ObjectInfo } from './node-info.ts';

export const NODE_DRAG_TYPE = 'application/x-invgraph-node';

export function buildPalette(root: HTMLElement, objectInfo: ObjectInfo, add: (type: string) => void): void {
  const search = document.createElement('input');
  search.type = 'search';
  search.placeholder = 'Search nodes…';
  search.className = 'palette-search';
  const list = document.createElement('div');
  list.className = 'palette-list';
  root.replaceChildren(search, list);
  const render = () => renderList(list, objectInfo, search.value.trim().toLowerCase(), add);
  search.addEventListener('input', render);
  search.addEventListener('keydown', (event) => {
    if (event.key !== 'Enter') return;
    const first = list.querySelector<HTMLElement>('.palette-item');
    if (first?.dataset.type) add(first.dataset.type);
  });
  render();
}

function matches(name: string, info: ObjectInfo[string], query: string): boolean {
  if (!query) return true;
  return [name, info.display_name, info.category, info.description].some((text) => String(text ?? '').toLowerCase().includes(query));
}

function renderList(list: HTMLElement, objectInfo: ObjectInfo, query: string, add: (type: string) => void): void {
  const byCategory = new Map<string, string[]>();
  for (const [name, info] of Object.entries(objectInfo)) {
    if (!matches(name, info, query)) continue;
    const names = byCategory.get(info.category) ?? [];
    names.push(name);
    byCategory.set(info.category, names);
  }
  const groups = [...byCategory.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([category, names]) => {
    const group = document.createElement('details');
    group.open = query.length > 0 || byCategory.size <= 4;
    const summary = document.createElement('summary');
    summary.textContent = category || 'other';
    group.append(summary, ...names.sort().map((name) => paletteItem(name, objectInfo[name], add)));
    return group;
  });
  if (groups.length === 0) {
    const empty = document.createElement('p');
    empty.className = 'palette-empty';
    empty.textContent = 'No node matches.';
    list.replaceChildren(empty);
    return;
  }
  list.replaceChildren(...groups);
}

function paletteItem(name: string, info: ObjectInfo[string], add: (type: string) => void): HTMLElement {
  const item = document.createElement('div');
  item.className = 'palette-item';
  item.dataset.type = name;
  item.textContent = info.display_name || name;
  item.title = info.description || name;
  item.draggable = true;
  item.addEventListener('click', () => add(name));
  item.addEventListener('dragstart', (event) => event.dataTransfer?.setData(NODE_DRAG_TYPE, name));
  return item;
}
