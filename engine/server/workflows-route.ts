// Read-only listing of the workflows shipped in workflows/, in the shape ComfyUI uses for
// custom-node example workflows (GET /workflow_templates → {"invgraph": [names]}, files under
// /workflow_templates/invgraph/<name>.json), so the editor's menu and ComfyUI's template browser both find them.

import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Router } from 'express';

export const WORKFLOW_MODULE = 'invgraph';
/** A plain file name: no folders, no dot files. API-format twins end in .api.json. */
const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*\.json$/;

/** UI-format workflow names in `dir` (without .json; API twins left out), sorted. */
export async function listWorkflows(dir: string): Promise<string[]> {
  let files: string[];
  try {
    files = await readdir(dir);
  } catch {
    return [];
  }
  return files
    .filter((f) => SAFE_NAME.test(f) && !f.endsWith('.api.json'))
    .map((f) => f.slice(0, -'.json'.length))
    .sort();
}

/** Mount under both `/` and `/api`, before any stub answering /workflow_templates. */
export function workflowsRoute(dir: string): Router {
  const router = Router();
  router.get('/workflow_templates', async (_req, res) => {
    res.json({ [WORKFLOW_MODULE]: await listWorkflows(dir) });
  });
  router.get('/workflow_templates/:module/:file', async (req, res) => {
    const { module, file } = req.params;
    if (module !== WORKFLOW_MODULE || !SAFE_NAME.test(file)) {
      res.status(404).json({ error: `No shipped workflow "${module}/${file}"; GET /workflow_templates lists them.` });
      return;
    }
    let text: string;
    try {
      text = await readFile(join(dir, file), 'utf8');
    } catch {
      res.status(404).json({ error: `No shipped workflow "${file}"; GET /workflow_templates lists them.` });
      return;
    }
    res.setHeader('Cache-Control', 'no-cache');
    res.type('application/json').send(text);
  });
  return router;
}
