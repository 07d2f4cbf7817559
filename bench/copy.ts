/**
 * `npm run bench:copy`: the backup job's copy rate at speed 0 against cp alone — the last
 * section of `bench:throughput`, without BullMQ and the job-throughput rounds.
 *
 * Options: `--mib=N` the file's size (default 256), `--rounds=N` (default 3).
 */
import { cpus, loadavg } from 'node:os';
import { copyRateTable, measureCopyRate } from './copy-rate.js';

const option = (name: string): string | undefined =>
  process.argv.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3);

const load = () => loadavg().map((l) => l.toFixed(2)).join(' ');
const cpu = cpus();
process.stdout.write(`node ${process.version}, ${cpu.length} cores (${cpu[0]?.model ?? 'unknown cpu'}), load average ${load()}\n`);
const rate = await measureCopyRate(Number(option('mib') ?? 256), Number(option('rounds') ?? 3));
process.stdout.write(`${copyRateTable(rate)}\nload average at the end ${load()}\n`);
