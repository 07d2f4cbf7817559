/** Fenced code blocks of the docs, for the tests that run them (docs as tests). */

/** The fenced blocks of a markdown file with their info string (```js, ```sh not-run …). */
export function codeBlocks(markdown: string): Array<{ info: string; code: string; line: number }> {
  const out: Array<{ info: string; code: string; line: number }> = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\S.*)?$/.exec(lines[i]!);
    if (!open) continue;
    const start = i;
    const body: string[] = [];
    while (++i < lines.length && lines[i] !== '```') body.push(lines[i]!);
    out.push({ info: (open[1] ?? '').trim(), code: body.join('\n'), line: start + 1 });
  }
  return out;
}
