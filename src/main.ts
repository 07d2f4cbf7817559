/**
 * `npm start`: the jobstate service (see src/service/run.ts; `jobctl serve` runs the same).
 */
import { runService } from './service/run.js';

void runService();
