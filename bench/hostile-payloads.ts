/**
 * The hostile payloads of `bench:hostile`: each about `bytes` long (just under the default
 * max_payload of 1 MB), each refused by the service, each built to make refusing it costly
 * in a different way — many keys, many small objects, long strings, arrays of numbers,
 * deep-ish nesting, transactions of many actions.
 */

/** `unit(0)`, `unit(1)`, … joined by commas until about `bytes`, inside `wrap`. */
function fill(bytes: number, unit: (i: number) => string, wrap: (body: string) => string): string {
  const parts: string[] = [];
  let length = wrap('').length;
  for (let i = 0; ; i++) {
    const part = unit(i);
    if (length + part.length + 1 > bytes) break;
    parts.push(part);
    length += part.length + 1;
  }
  return wrap(parts.join(','));
}

export interface Hostile {
  name: string;
  command: 'job-start' | 'transaction';
  payload: string;
}

export function hostilePayloads(bytes: number): Hostile[] {
  const start = (name: string, payload: string): Hostile => ({ name, command: 'job-start', payload });
  return [
    start('params with many keys {"k0":1,…}', fill(bytes, (i) => `"k${i}":1`, (b) => `{"type":"test","params":{${b}}}`)),
    start('many keys at the top level', fill(bytes, (i) => `"k${i}":1`, (b) => `{${b}}`)),
    start('params with many keys of small objects', fill(bytes, (i) => `"k${i}":{}`, (b) => `{"type":"test","params":{${b}}}`)),
    start('an array of many small objects [{},…]', fill(bytes, () => '{}', (b) => `{"type":"test","params":{"result":[${b}]}}`)),
    start('an array of many numbers', fill(bytes, (i) => String(i), (b) => `{"type":"test","params":{"result":[${b}]}}`)),
    start('objects 5 deep, many of them', fill(bytes, (i) => `{"a${i}":{"b":{"c":{"d":{}}}}}`, (b) => `{"type":"test","params":{"result":[${b}]}}`)),
    start('arrays 30 deep, many of them', fill(bytes, () => `${'['.repeat(29)}${']'.repeat(29)}`, (b) => `{"type":"test","params":{"result":[${b}]}}`)),
    start('nested 40 deep, many of them', fill(bytes, () => `${'['.repeat(40)}${']'.repeat(40)}`, (b) => `{"type":"test","params":{"result":[${b}]}}`)),
    start('a 1 MB description', `{"type":"test","description":"${'x'.repeat(bytes - 40)}"}`),
    start('a 1 MB string param', `{"type":"test","params":{"fail":"${'x'.repeat(bytes - 50)}"}}`),
    start('many short strings', fill(bytes, () => '"x"', (b) => `{"type":"test","params":{"result":[${b}]}}`)),
    {
      name: 'transaction: 256 actions with many keys each',
      command: 'transaction',
      payload: `{"actions":[${Array.from({ length: 256 }, () => fill(Math.floor(bytes / 260), (i) => `"k${i}":1`, (b) => `{"type":"test","params":{${b}}}`)).join(',')}]}`,
    },
    { name: 'transaction: many empty actions', command: 'transaction', payload: fill(bytes, () => '{}', (b) => `{"actions":[${b}]}`) },
  ];
}
