/**
 * The raw baseline of `bench:commands`, run as a child process: a plain nats.js subscription
 * answering every request at once with a fixed payload. On `<prefix>.cmd.*.job-pause` it
 * replies `{"return":{}}` (the service's job-pause reply); on `<prefix>.cmd.*.query-jobs` it
 * replies with the payload last sent to `<prefix>.set-query-reply` (a copy of a real
 * query-jobs reply). Prints `ready` once subscribed; stops on SIGTERM.
 */
import { connect } from '@nats-io/transport-node';

const url = process.env.NATS_URL;
const prefix = process.env.RAW_PREFIX;
if (!url || !prefix) throw new Error('NATS_URL and RAW_PREFIX must be set');

const PAUSE_REPLY = JSON.stringify({ return: {} });
let queryReply: Uint8Array = new Uint8Array(0);

const nc = await connect({ servers: url, name: 'bench-responder' });
// The service's endpoints subscribe with the micro framework's queue group `q`: so does this.
nc.subscribe(`${prefix}.cmd.*.job-pause`, { queue: 'q', callback: (_err, msg) => void msg.respond(PAUSE_REPLY) });
nc.subscribe(`${prefix}.cmd.*.query-jobs`, { queue: 'q', callback: (_err, msg) => void msg.respond(queryReply) });
nc.subscribe(`${prefix}.set-query-reply`, {
  callback: (_err, msg) => {
    queryReply = msg.data.slice();
    msg.respond();
  },
});
await nc.flush();
process.stdout.write('ready\n');
process.once('SIGTERM', () => void nc.drain().then(() => process.exit(0)));
