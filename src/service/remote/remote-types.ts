/**
 * The service's job types with the workers' types added: a type no in-process handler has
 * but a live worker announces is a stand-in type here. Its params are any object (the worker
 * validates them with its own schema when the job is dispatched), its secrets are those the
 * workers announced, and its finalize hooks are forwarded to the job's worker.
 */
import { z } from 'zod';
import type { FinalizeContext, JobType } from '../../runtime/handler.js';
import { JobTypes } from '../../runtime/registry.js';
import type { JobTypeInfo } from '../../runtime/registry.js';
import type { HeartbeatInfo } from '../../protocol/worker.js';
import type { RemoteJob } from './remote-job.js';

/** What the stand-in types need of the worker directory. */
export interface RemoteTypeSource {
  /** The names of the types live workers announce. */
  remoteNames(): string[];
  /** The JSON Schema of a remote type's params, as its workers announce it. */
  remoteSchema(name: string): Record<string, unknown> | undefined;
  /** The stand-in for a type live workers announce, undefined if none does. */
  remoteType(name: string): JobType<unknown> | undefined;
  /** The remote job of a run, if it was dispatched. */
  job(owner: string, id: string): RemoteJob | undefined;
}

/** Params of a remote type, as the service checks them: any object. */
const AnyParams = z.record(z.string(), z.unknown());

export class TypesWithWorkers extends JobTypes {
  constructor(
    private readonly local: JobTypes,
    private readonly remote: RemoteTypeSource,
  ) {
    super();
  }

  override register<P>(type: JobType<P>): this {
    this.local.register(type);
    return this;
  }

  /** The in-process type if there is one, else the stand-in for a worker's type. */
  override get(type: string): JobType<unknown> | undefined {
    return this.local.get(type) ?? this.remote.remoteType(type);
  }

  override names(): string[] {
    return [...new Set([...this.local.names(), ...this.remote.remoteNames()])];
  }

  /** The in-process types, then those only live workers run (with the schema they announce). */
  override describe(): JobTypeInfo[] {
    const local = this.local.describe();
    const here = new Set(local.map((t) => t.type));
    const remote = this.remote
      .remoteNames()
      .filter((name) => !here.has(name))
      .map((name): JobTypeInfo => ({ type: name, runs: 'remote', params: this.remote.remoteSchema(name) ?? { type: 'object' } }));
    return [...local, ...remote];
  }
}

/** The stand-in type for `name`; `secrets` only ever grows, so a job's secrets stay masked. */
export function remoteJobType(name: string, secrets: ReadonlySet<string>, source: RemoteTypeSource): JobType<unknown> {
  const remote = (job: FinalizeContext<unknown>) => source.job(job.owner, job.id);
  return {
    type: name,
    params: AnyParams,
    get secrets() {
      return [...secrets];
    },
    hooks: {
      prepare: async (job) => remote(job)?.prepare(),
      commit: (job) => remote(job)?.hook('commit'),
      abort: (job) => remote(job)?.hook('abort'),
      clean: (job) => remote(job)?.hook('clean'),
    },
    handler: async () => {
      throw new Error(`Job type '${name}' runs on remote workers`);
    },
  };
}

/**
 * What live workers announced of the remote types: the one stand-in of each (made once), the
 * params' JSON Schema as the workers last announced it, and every secret ever announced.
 */
export class AnnouncedTypes {
  readonly #standIns = new Map<string, JobType<unknown>>();
  readonly #schemas = new Map<string, Record<string, unknown>>();
  readonly #secrets = new Map<string, Set<string>>();

  constructor(private readonly source: RemoteTypeSource) {}

  /** The stand-in for `name`, made on first use. */
  standIn(name: string): JobType<unknown> {
    let type = this.#standIns.get(name);
    if (!type) {
      type = remoteJobType(name, this.#secretsOf(name), this.source);
      this.#standIns.set(name, type);
    }
    return type;
  }

  /** `type` is the stand-in of its name (not an in-process type). */
  isStandIn(type: JobType<unknown>): boolean {
    return this.#standIns.get(type.type) === type;
  }

  schema(name: string): Record<string, unknown> | undefined {
    return this.#schemas.get(name);
  }

  addSecrets(name: string, secrets: Iterable<string>): void {
    const known = this.#secretsOf(name);
    for (const secret of secrets) known.add(secret);
  }

  /** A worker's heartbeat: its types' secrets and schemas. */
  heardFrom(beat: HeartbeatInfo): void {
    for (const t of beat.types) this.addSecrets(t.type, t.secrets);
    for (const t of beat.types) if (t.params) this.#schemas.set(t.type, t.params);
  }

  #secretsOf(name: string): Set<string> {
    let secrets = this.#secrets.get(name);
    if (!secrets) this.#secrets.set(name, (secrets = new Set()));
    return secrets;
  }
}
