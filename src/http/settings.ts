/**
 * The HTTP server's settings (JOBS_HTTP and friends): where it listens and its limits.
 */

/** Where the HTTP server listens when nothing says otherwise. */
export const DEFAULT_HTTP_HOST = '127.0.0.1';
export const DEFAULT_HTTP_PORT = 4380;

export interface HttpListen {
  host: string;
  port: number;
}

/**
 * Parse JOBS_HTTP: `off` (no HTTP server), `host:port`, `:port` or `port`. Throws an Error
 * naming the setting.
 */
export function parseHttpSetting(value: string | undefined): HttpListen | 'off' {
  const v = (value ?? '').trim();
  if (v === '') return { host: DEFAULT_HTTP_HOST, port: DEFAULT_HTTP_PORT };
  if (v === 'off') return 'off';
  const m = /^(?:(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]*):)?([0-9]{1,5})$/.exec(v);
  const port = m ? Number(m[2]) : NaN;
  if (!m || !(port >= 0 && port <= 65535)) {
    throw new Error(`Invalid setting JOBS_HTTP: '${v}' is not 'off' or host:port (e.g. 127.0.0.1:4380)`);
  }
  const host = m[1] === undefined || m[1] === '' ? DEFAULT_HTTP_HOST : m[1].replace(/^\[|\]$/g, '');
  return { host, port };
}

export interface HttpLimits {
  /** Files one upload may carry (the job's input pipes). */
  maxFiles: number;
  /** Bytes one uploaded file may have. */
  maxFileBytes: number;
  /** Bytes of the `data` part (the job start's JSON). */
  maxDataBytes: number;
  /** A request whose headers have not all arrived after this long is dropped (408). */
  headersTimeoutMs: number;
  /** A connection that sends or takes nothing for this long is closed. */
  idleTimeoutMs: number;
}

export const DEFAULT_HTTP_LIMITS: HttpLimits = {
  maxFiles: 16,
  maxFileBytes: 1024 * 1024 * 1024,
  maxDataBytes: 1024 * 1024,
  headersTimeoutMs: 30_000,
  idleTimeoutMs: 60_000,
};

/**
 * The HTTP settings from the environment: JOBS_HTTP, JOBS_HTTP_MAX_FILE_BYTES,
 * JOBS_HTTP_IDLE_TIMEOUT_MS. Throws an Error naming the bad variable.
 */
export function httpSettingsFromEnv(env: NodeJS.ProcessEnv): { listen: HttpListen | 'off'; limits: Partial<HttpLimits> } {
  const listen = parseHttpSetting(env.JOBS_HTTP);
  const limits: Partial<HttpLimits> = {};
  const count = (name: string): number | undefined => {
    const v = env[name]?.trim();
    if (v === undefined || v === '') return undefined;
    if (!/^[1-9][0-9]{0,14}$/.test(v)) throw new Error(`Invalid setting ${name}: a positive whole number`);
    return Number(v);
  };
  const maxFileBytes = count('JOBS_HTTP_MAX_FILE_BYTES');
  if (maxFileBytes !== undefined) limits.maxFileBytes = maxFileBytes;
  const idle = count('JOBS_HTTP_IDLE_TIMEOUT_MS');
  if (idle !== undefined) limits.idleTimeoutMs = idle;
  return { listen, limits };
}
