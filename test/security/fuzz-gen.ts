/**
 * Reproducible hostile payloads for the fuzz test: a seeded PRNG and generators of JSON text
 * (keys such as `__proto__` are written as text, so they survive), from random values to
 * mutations of valid commands, deep nesting, megabyte strings and bytes that are not UTF-8.
 */
import { COMMANDS, Command } from '../../src/protocol/subjects.js';

/** mulberry32: a small, fast, seedable PRNG; the same seed gives the same payloads. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A JSON value as text is built from: objects keep their entries in order, duplicates and `__proto__` included. */
export type V = null | boolean | number | string | V[] | Obj | Raw;
export class Obj {
  constructor(readonly entries: Array<[string, V]>) {}
}
/** JSON text written as is (deep nesting, `1e999`, …). */
export class Raw {
  constructor(readonly text: string) {}
}

export function ser(v: V): string {
  if (v instanceof Raw) return v.text;
  if (v instanceof Obj) return `{${v.entries.map(([k, x]) => `${JSON.stringify(k)}:${ser(x)}`).join(',')}}`;
  if (Array.isArray(v)) return `[${v.map(ser).join(',')}]`;
  if (typeof v === 'number' && !Number.isFinite(v)) return '1e999';
  return JSON.stringify(v);
}

/** Ids the fuzzing callers start jobs under, and so may find again. */
export const VOCAB_IDS = ['m1', 'm2', 'm3', 'm4', 'm5', 'm6'];
/** The live jobs of alice that the fuzz must leave alone. */
export const LIVE_IDS = ['live-run', 'live-paused', 'live-ready', 'live-done'];
export const CALLERS = ['mallory', 'eve'];
/** Caller tokens that are not account names (one subject token each). */
export const BAD_CALLERS = ['a%b', 'jöb', '日本', 'x'.repeat(65), '$x', '"', '~'];

const WILD = ['*', '>', 'a.*', 'a.>', '.', 'a.', '.a', 'a b', ' ', 'a\tb', 'a\nb', '\r\n', '\u0000', 'a\u202eb', '\u2028', '😀', 'jöb', '\ud800'];
const POISON = ['__proto__', 'constructor', 'prototype', 'toString', 'valueOf', 'hasOwnProperty', '__defineGetter__', '__lookupSetter__', 'isPrototypeOf'];
const OWNERS = ['alice', 'bob', 'admin', 'mallory', 'eve', '', 'ALICE', 'alice ', 'al.ice', 'al*', '>', '*', 'a'.repeat(64), 'a'.repeat(65)];
const TYPES = ['test', 'backup', 'mirror', 'create', 'stream', 'commit', '', 'TEST', 'test ', 'nope', '__proto__', 'constructor'];
const PATHS = ['a', 'a/b', '.', '..', '../fuzz-escape-canary', '../../fuzz-escape-canary', '/etc/passwd', '/tmp/fuzz-escape-canary', 'a/../../fuzz-escape-canary', '', 'x\u0000y', '~/x'];
const STATUSES = ['created', 'running', 'paused', 'ready', 'standby', 'waiting', 'pending', 'aborting', 'concluded', 'null', 'undefined', 'RUNNING', ''];
const FIELDS = [
  'id', 'owner', 'type', 'params', 'speed', 'force', 'timeout-ms', 'actions', 'properties', 'completion-mode', 'status',
  'auto-finalize', 'auto-dismiss', 'on-error', 'description', 'steps', 'step-ms', 'ready', 'fail', 'fail-at', 'result',
  'source', 'target', 'size', 'base', 'top',
];
const NUMBERS = [0, 1, -1, 2, 3, 10, 100, 1000, -0.5, 1.5, 2 ** 31, -(2 ** 31), 2 ** 53, -(2 ** 53), Number.MAX_SAFE_INTEGER + 2, 1e308, 5e-324, Infinity];

export interface Fuzzed {
  command: Command;
  caller: string;
  payload: Uint8Array;
  strategy: string;
}

const utf8 = (text: string) => new TextEncoder().encode(text);

export class Fuzzer {
  readonly #r: () => number;

  constructor(seed: number) {
    this.#r = prng(seed);
  }

  #int(n: number): number {
    return Math.floor(this.#r() * n);
  }
  #pick<T>(items: readonly T[]): T {
    return items[this.#int(items.length)]!;
  }
  #chance(p: number): boolean {
    return this.#r() < p;
  }

  /** One hostile request. */
  next(): Fuzzed {
    const command = this.#pick(COMMANDS);
    const caller = this.#chance(0.03) ? this.#pick(BAD_CALLERS) : this.#pick(CALLERS);
    const strategies: Array<[number, string, () => Uint8Array]> = [
      [30, 'mutated', () => utf8(ser(this.#mutate(this.#valid(command))))],
      [12, 'valid', () => utf8(ser(this.#valid(command)))],
      [18, 'random-object', () => utf8(ser(this.#object(3)))],
      [8, 'random-json', () => utf8(ser(this.#value(3)))],
      [10, 'poisoned', () => utf8(ser(this.#poison(this.#valid(command))))],
      [6, 'deep', () => utf8(this.#deep(command))],
      [3, 'big', () => utf8(this.#big(command))],
      [8, 'bytes', () => this.#bytes(command)],
      [5, 'wildcards', () => utf8(ser(this.#wild(command)))],
    ];
    let roll = this.#int(strategies.reduce((n, [w]) => n + w, 0));
    for (const [weight, strategy, make] of strategies) {
      if ((roll -= weight) < 0) return { command, caller, strategy, payload: make() };
    }
    throw new Error('unreachable');
  }

  #string(): string {
    switch (this.#int(9)) {
      case 0:
        return this.#pick(WILD);
      case 1:
        return this.#pick(POISON);
      case 2:
        return this.#pick(OWNERS);
      case 3:
        return this.#pick(TYPES);
      case 4:
        return this.#pick(PATHS);
      case 5:
        return this.#pick([...VOCAB_IDS, ...LIVE_IDS]);
      case 6:
        return this.#pick(STATUSES);
      case 7:
        return 'z'.repeat(this.#pick([0, 1, 64, 65, 128, 129, 1024, 1025, 5000]));
      default:
        return Array.from({ length: 1 + this.#int(12) }, () => String.fromCharCode(32 + this.#int(95))).join('');
    }
  }

  #key(): string {
    const roll = this.#int(10);
    if (roll < 6) return this.#pick(FIELDS);
    if (roll < 8) return this.#pick(POISON);
    return this.#string();
  }

  #value(depth: number): V {
    switch (this.#int(depth > 0 ? 8 : 5)) {
      case 0:
        return null;
      case 1:
        return this.#chance(0.5);
      case 2:
        return this.#pick(NUMBERS);
      case 3:
      case 4:
        return this.#string();
      case 5:
        return Array.from({ length: this.#int(4) }, () => this.#value(depth - 1));
      default:
        return this.#object(depth - 1);
    }
  }

  #object(depth: number): Obj {
    return new Obj(Array.from({ length: this.#int(6) }, () => [this.#key(), this.#value(depth)]));
  }

  /** A valid payload for `command` (the service may still refuse it: unknown job, wrong state…). */
  #valid(command: Command): Obj {
    const id = this.#pick(VOCAB_IDS);
    const maybe = (p: number, key: string, value: V): Array<[string, V]> => (this.#chance(p) ? [[key, value]] : []);
    const start = (): Obj =>
      new Obj([
        ['type', 'test'],
        ...maybe(0.7, 'id', this.#pick(VOCAB_IDS)),
        ['params', new Obj([['steps', this.#int(4)], ['step-ms', this.#int(20)], ...maybe(0.2, 'ready', true), ...maybe(0.1, 'fail', 'boom')])],
        ...maybe(0.2, 'auto-finalize', false),
        ...maybe(0.2, 'auto-dismiss', false),
        ...maybe(0.1, 'speed', this.#int(5)),
        ...maybe(0.1, 'description', this.#string().slice(0, 100)),
      ]);
    const owner = maybe(0.3, 'owner', this.#pick(OWNERS.slice(0, 5)));
    switch (command) {
      case Command.jobStart:
        return start();
      case Command.transaction:
        return new Obj([
          ['actions', Array.from({ length: 1 + this.#int(3) }, start)],
          ...maybe(0.5, 'properties', new Obj([['completion-mode', this.#pick(['individual', 'grouped'])]])),
        ]);
      case Command.jobCancel:
        return new Obj([['id', id], ...owner, ...maybe(0.5, 'force', this.#chance(0.5))]);
      case Command.jobSetSpeed:
        return new Obj([['id', id], ...owner, ['speed', this.#pick([0, 1, 5, -1])]]);
      case Command.queryJobs:
        return new Obj([...owner, ...maybe(0.3, 'status', this.#pick(STATUSES.slice(0, 10))), ...maybe(0.2, 'type', 'test')]);
      case Command.jobWait:
        return new Obj([['id', id], ...owner, ...maybe(0.8, 'timeout-ms', this.#pick([0, 1, 10, 50]))]);
      default:
        return new Obj([['id', id], ...owner]);
    }
  }

  /** 1–3 changes: a field dropped, replaced by a random value, or a key added. */
  #mutate(obj: Obj): Obj {
    const entries = [...obj.entries];
    for (let n = 1 + this.#int(3); n > 0; n--) {
      const i = this.#int(entries.length + 1);
      const roll = this.#int(3);
      if (roll === 0 && i < entries.length) entries.splice(i, 1);
      else if (roll === 1 && i < entries.length) entries[i] = [entries[i]![0], this.#value(2)];
      else entries.splice(i, 0, [this.#key(), this.#value(2)]);
    }
    return new Obj(entries);
  }

  /** A prototype-polluting key at some depth. */
  #poison(obj: Obj): Obj {
    const pollute = new Obj([['polluted', 1], ['prototype', new Obj([['polluted', 1]])]]);
    const key = this.#pick(POISON);
    if (this.#chance(0.5)) return new Obj([...obj.entries, [key, pollute]]);
    // Deeper: inside params or the first action, if there is one, else in a new nested object.
    const entries = obj.entries.map(([k, v]): [string, V] => {
      if (v instanceof Obj) return [k, new Obj([...v.entries, [key, pollute]])];
      if (Array.isArray(v) && v[0] instanceof Obj) return [k, [new Obj([...v[0].entries, [key, pollute]]), ...v.slice(1)]];
      return [k, v];
    });
    return new Obj([...entries, ['x', new Obj([['y', new Obj([[key, pollute]])]])]]);
  }

  /** Ids, owners, types and statuses with NATS wildcards, dots, whitespace and odd unicode. */
  #wild(command: Command): Obj {
    const base = this.#valid(command);
    const targets = new Set(['id', 'owner', 'type', 'status']);
    const entries = base.entries.map(([k, v]): [string, V] => [k, targets.has(k) ? this.#pick([...WILD, ...OWNERS]) : v]);
    return new Obj(this.#chance(0.5) ? [...entries, ['owner', this.#pick(WILD)]] : entries);
  }

  #deep(command: Command): string {
    const n = this.#pick([20, 31, 32, 33, 64, 1000, 10_000, 100_000]);
    const nest = this.#chance(0.5) ? '['.repeat(n) + ']'.repeat(n) : '{"a":'.repeat(n) + '1' + '}'.repeat(n);
    if (this.#chance(0.2)) return nest;
    const base = this.#valid(command);
    const at = this.#chance(0.5) ? this.#key() : (base.entries[0]?.[0] ?? 'x');
    return ser(new Obj([...base.entries.filter(([k]) => k !== at), [at, new Raw(nest)]]));
  }

  /** A string of 64 KB to ~1 MB (the broker's max_payload is 1 MB) in some field. */
  #big(command: Command): string {
    const base = this.#valid(command);
    const unicode = this.#chance(0.3);
    const bytes = 64 * 1024 + this.#int(1_000_000 - 64 * 1024);
    const big = unicode ? 'é'.repeat(bytes >> 1) : 'b'.repeat(bytes);
    if (this.#chance(0.2)) return ser(new Obj([...base.entries, [big, 1]])); // as a key
    const at = this.#pick([...FIELDS, 'x']);
    return ser(new Obj([...base.entries.filter(([k]) => k !== at), [at, big]]));
  }

  #bytes(command: Command): Uint8Array {
    const valid = utf8(ser(this.#valid(command)));
    switch (this.#int(6)) {
      case 0:
        return Uint8Array.from({ length: 1 + this.#int(64) }, () => this.#int(256));
      case 1:
        return valid.slice(0, this.#int(valid.length));
      case 2: {
        const out = Uint8Array.from(valid);
        out[this.#int(out.length)] = this.#pick([0x80, 0xc0, 0xff, 0xfe, 0xed, 0x00]);
        return out;
      }
      case 3:
        return new Uint8Array([0xef, 0xbb, 0xbf, ...valid]);
      case 4:
        return new Uint8Array([...valid].flatMap((b) => [b, 0]));
      default:
        return utf8(this.#pick(['', ' ', 'null', '[]', '""', '{}', '{', '}{', 'NaN', '{"a":1}{"b":2}', '{"id":"m1",}', "{'id':'m1'}", '{id:"m1"}']));
    }
  }
}
