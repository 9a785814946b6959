// The express application: gatekeeping, every route under both `/` and `/api` (§1), the
// `/internal` sub-app, the editor's static files, a JSON 404 and the one error handler.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import express from 'express';
import type { Express, NextFunction, Request, Response } from 'express';
import type { ServerContext } from './context.ts';
import { HttpError, errorHandler, notFound } from './http-error.ts';
import { fileRoutes } from './routes/file-routes.ts';
import { infoRoutes, internalRoutes } from './routes/info-routes.ts';
import { queueRoutes } from './routes/queue-routes.ts';
import { userRoutes } from './routes/user-routes.ts';
import type { SecurityOptions } from './security.ts';
import { workflowsRoute } from './workflows-route.ts';
import { TOKEN_COOKIE, checkRequest, originAllowed, queryToken } from './security.ts';

export interface AppFolders {
  /** Built editor (index.html + assets). */
  staticDir?: string;
  /** Shipped workflows, offered as /workflow_templates. */
  workflowsDir?: string;
}

export function createApp(ctx: ServerContext, security: SecurityOptions, folders: AppFolders): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  app.use(gatekeeper(security));
  const api = express.Router();
  if (folders.workflowsDir !== undefined) api.use(workflowsRoute(folders.workflowsDir));
  api.use(queueRoutes(ctx), infoRoutes(ctx), fileRoutes(ctx), userRoutes(ctx));
  app.use('/api', api);
  app.use('/internal', internalRoutes(ctx));
  app.use(api);
  app.use(staticEditor(folders.staticDir));
  app.use((req: Request) => {
    throw notFound(`No route ${req.method} ${req.path}.`);
  });
  app.use(errorHandler(ctx.log));
  return app;
}

function gatekeeper(security: SecurityOptions) {
  return (req: Request, res: Response, next: NextFunction) => {
    const verdict = checkRequest(req, security);
    if (!verdict.ok) {
      next(new HttpError(verdict.status, verdict.message));
      return;
    }
    const origin = req.headers.origin;
    if (origin !== undefined && originAllowed(origin, security)) {
      res.setHeader('Access-Control-Allow-Origin', origin);
      res.setHeader('Access-Control-Allow-Methods', 'POST, GET, DELETE, PUT, PATCH, OPTIONS');
      res.setHeader('Access-Control-Allow-Headers', 'Content-Type, Authorization, Comfy-User');
      res.setHeader('Access-Control-Allow-Credentials', 'true');
      res.setHeader('Vary', 'Origin');
    }
    if (req.method === 'OPTIONS') {
      res.status(200).end();
      return;
    }
    // A browser that opened /?token=... keeps working through a same-site, HTTP-only cookie.
    const token = queryToken(req);
    if (security.authToken !== undefined && token !== undefined) {
      res.cookie(TOKEN_COOKIE, token, { httpOnly: true, sameSite: 'strict', path: '/' });
    }
    next();
  };
}

const PLACEHOLDER = `<!doctype html><html><head><meta charset="utf-8"><title>invgraph</title></head>
<body><h1>invgraph server</h1><p>The browser editor is not built yet (no ui/dist). Build it with
<code>npm run build:ui</code> in the invgraph folder (it needs the dev dependencies that <code>npm ci</code>
installs), then reload this page. The ComfyUI-compatible API is available under <code>/</code> and
<code>/api/</code>; see docs/server.md.</p></body></html>`;

function staticEditor(staticDir: string | undefined) {
  const router = express.Router();
  const noCache = (res: Response) => {
    res.setHeader('Cache-Control', 'no-cache');
    res.setHeader('Pragma', 'no-cache');
    res.setHeader('Expires', '0');
  };
  if (staticDir !== undefined && existsSync(join(staticDir, 'index.html'))) {
    router.use(
      express.static(staticDir, {
        setHeaders: (res, path) => {
          if (path.endsWith('.html') || path.endsWith('.js') || path.endsWith('.css')) noCache(res);
        },
      }),
    );
  } else {
    router.get('/', (_req, res) => {
      noCache(res);
      res.type('html').send(PLACEHOLDER);
    });
  }
  return router;
}
