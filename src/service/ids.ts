/**
 * Generated ids: a random part drawn once per process and a counter, in base 36, so that ids
 * never repeat within a process, are unlikely to repeat across processes (16 random base-36
 * characters of process identity), and cost a counter increment each.
 */
import { randomBytes } from 'node:crypto';

/** 16 random base-36 characters, drawn once per process. */
const PROCESS_PART = [...randomBytes(16)].map((b) => (b % 36).toString(36)).join('');
let counter = 0;

/**
 * A fresh id that matches the protocol's id pattern: `<prefix>-<process part><counter>`.
 * @example generateId('job') // 'job-k3x9…0a'
 */
export function generateId(prefix: string): string {
  return `${prefix}-${PROCESS_PART}${(counter++).toString(36)}`;
}
