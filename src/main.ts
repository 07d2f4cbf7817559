/**
 * `npm start`: the jobstate service (see src/service/run.ts; `jobctl serve` runs the same),
 * with its HTTP server beside it (JOBS_HTTP; src/http/).
 */
import { httpBeside } from './http/beside.js';
import { runService } from './service/run.js';

void runService(process.env, httpBeside);
