/**
 * toMermaid draws state changes only, names states Mermaid can parse, and writes each arrow
 * in the composite state that holds both of its ends.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createMachine } from 'xstate';
import { toMermaid } from '../../src/docs/mermaid.js';

const machine = createMachine({
  initial: 'null',
  on: { reset: '.null' },
  states: {
    null: { on: { go: { target: 'outer', guard: 'ok' }, poke: { actions: 'refuse' } } },
    outer: {
      initial: 'default',
      states: {
        default: { on: { next: 'inner' } },
        inner: { always: { target: '#end', guard: { type: 'all', params: 'done' } } },
      },
    },
    end: { id: 'end', type: 'final' },
  },
});

const diagram = toMermaid(machine);

test('reserved state names get an alias labelled with the real name', () => {
  assert.match(diagram, /^ {2}state "null" as null_$/m);
  assert.match(diagram, /^ {4}state "default" as default_$/m);
});

test('transitions without a target are not drawn', () => {
  assert.doesNotMatch(diagram, /poke/);
});

test('edges carry the event and guard; eventless ones read always', () => {
  assert.match(diagram, /^ {2}null_ --> outer : go \[ok\]$/m);
  assert.match(diagram, /^ {2}inner --> end_ : always \[all\(done\)\]$/m);
});

test('an edge inside a composite state stays inside it, one leaving it is written outside', () => {
  assert.match(
    diagram,
    /^ {2}state outer \{\n {4}state "default" as default_\n {4}inner\n {4}\[\*\] --> default_\n {4}default_ --> inner : next\n {2}\}$/m,
  );
});

test("the machine's own transitions are drawn from every top-level state, final states lead to [*]", () => {
  assert.match(diagram, /^ {2}outer --> null_ : reset$/m);
  assert.doesNotMatch(diagram, /end_ --> null_/);
  assert.match(diagram, /^ {2}end_ --> \[\*\]$/m);
});
