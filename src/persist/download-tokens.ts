/**
 * Download tokens: the single-use URLs of `job-download` and `job-download-log` (docs/http.md).
 * The service issues them into a KV bucket `<prefix>_downloads`; the HTTP server redeems them
 * (a revision-checked delete, so each is used once, even by HTTP servers racing for it). A
 * token names the caller who asked, the job and pipe, and the file name; it expires after
 * `ttlMs` (and the bucket forgets it a day after at most).
 */
import { randomBytes } from 'node:crypto';
import { jetstream } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import type { KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { z } from 'zod';

/** The token bucket of a subject prefix: `jobs_downloads`. */
export const downloadBucket = (prefix: string) => `${prefix.replace(/\./g, '_')}_downloads`;

/** How long a token may be used. @defaultValue 3600000 (an hour) */
export const DEFAULT_DOWNLOAD_TTL_MS = 3_600_000;
const BUCKET_MAX_AGE_MS = 24 * 3_600_000;

export const DownloadToken = z.object({
  /** Who asked: the only caller who may redeem it. */
  caller: z.string(),
  /** The job's owner and id. */
  owner: z.string(),
  id: z.string(),
  pipe: z.enum(['out', 'log']),
  filename: z.string(),
  /** Serve once the job succeeded (output only). */
  buffered: z.boolean(),
  /** Milliseconds since the epoch after which the token is refused. */
  expires: z.number(),
});
export type DownloadToken = z.infer<typeof DownloadToken>;

/** A token's URL path: `/_download/<token>?filename=<filename>`. */
export const downloadUrl = (token: string, filename: string) => `/_download/${token}?filename=${encodeURIComponent(filename)}`;

export class DownloadTokens {
  #kv: Promise<KV> | undefined;

  constructor(
    private readonly nc: NatsConnection,
    private readonly prefix: string,
    private readonly ttlMs = DEFAULT_DOWNLOAD_TTL_MS,
    /** Copies of the bucket on a cluster (JOBS_REPLICAS). */
    private readonly replicas = 1,
  ) {}

  /** The bucket, created on first use (a service without downloads needs no JetStream for it). */
  #bucket(): Promise<KV> {
    this.#kv ??= new Kvm(jetstream(this.nc))
      .create(downloadBucket(this.prefix), { history: 1, storage: 'file', replicas: this.replicas, ttl: BUCKET_MAX_AGE_MS, description: 'jobstate: single-use download tokens' })
      .catch((err: unknown) => {
        this.#kv = undefined;
        throw err;
      });
    return this.#kv;
  }

  /** Resolves once the bucket is there (created if need be). */
  async ready(): Promise<void> {
    await this.#bucket();
  }

  /** Issue a token; resolves to it once it is stored. */
  async issue(token: Omit<DownloadToken, 'expires'>): Promise<string> {
    const kv = await this.#bucket();
    const key = randomBytes(24).toString('base64url');
    await kv.create(key, JSON.stringify({ ...token, expires: Date.now() + this.ttlMs } satisfies DownloadToken));
    return key;
  }

  /**
   * Look a token up without using it: undefined when there is none (unknown, used or expired).
   * {@link use} then takes it.
   */
  async peek(key: string): Promise<{ token: DownloadToken; revision: number } | undefined> {
    if (!/^[A-Za-z0-9_-]{16,64}$/.test(key)) return undefined;
    const kv = await this.#bucket();
    const entry = await kv.get(key);
    if (!entry || entry.operation !== 'PUT') return undefined;
    const parsed = DownloadToken.safeParse(entry.json());
    if (!parsed.success || parsed.data.expires < Date.now()) return undefined;
    return { token: parsed.data, revision: entry.revision };
  }

  /** Use a token looked up with {@link peek}: false if another request used it first. */
  async use(key: string, revision: number): Promise<boolean> {
    const kv = await this.#bucket();
    try {
      await kv.delete(key, { previousSeq: revision });
      return true;
    } catch {
      return false;
    }
  }
}
