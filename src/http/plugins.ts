/**
 * The extra routes every jobstate HTTP server mounts (`npm start`, `npm run http`): add a
 * plugin here to serve more (e.g. the web dashboard at `/`). A plugin gets a fastify scope of
 * its own and the {@link HttpContext} (the caller of a request, health, metrics).
 */
import { dashboardFromEnv } from '../dashboard/plugin.js';
import type { HttpPlugin } from './server.js';

export const plugins: HttpPlugin[] = [dashboardFromEnv()];
