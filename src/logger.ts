/**
 * The processes' logger: pino's JSON lines (LOG_FORMAT=json, the default), or, for a person
 * at a terminal, one readable line each through pino-pretty (LOG_FORMAT=pretty; colours when
 * stdout is a terminal). Both carry the same fields.
 */
import { pino } from 'pino';
import type { Logger, LoggerOptions } from 'pino';
import { PinoPretty } from 'pino-pretty';

export type LogFormat = 'json' | 'pretty';

/** A logger at `level` in `format`, with `base` on every line. */
export function makeLogger(level: LoggerOptions['level'], format: LogFormat, base: Record<string, unknown>): Logger {
  if (format === 'json') return pino({ level, base });
  const stream = PinoPretty({ colorize: process.stdout.isTTY === true, sync: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' });
  return pino({ level, base }, stream);
}
