/** A REST call the carrier refused or that could not reach it (status 0). */
export class CarrierError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly carrierCode?: string | number,
  ) {
    super(message);
  }

  /**
   * A refusal that asking again cannot change: a 4xx (an invalid or unreachable number, a body or account the
   * carrier will not take), except 408 and 429, which say "later". A 5xx or no answer at all (status 0) may pass.
   */
  get permanent(): boolean {
    return this.status >= 400 && this.status < 500 && this.status !== 408 && this.status !== 429;
  }
}

/** How to reach one account of the Compatibility REST API. */
export interface CxmlRestOptions {
  /** e.g. https://example.signalwire.com, or the simulator's /dev/carrier/space. */
  spaceUrl: string;
  projectId: string;
  apiToken: string;
  timeoutMs?: number;
  fetch?: typeof fetch;
}

/** The fields of a JSON answer (a resource, or an error) the carriers read. */
export interface CxmlPayload {
  sid?: string;
  status?: string;
  code?: number;
  message?: string;
}

export interface CxmlResponse {
  response: Response;
  payload: CxmlPayload;
}

/**
 * A client of the account's Compatibility REST API (HTTP Basic auth): `post(path, form)` sends a form under
 * `.../Accounts/<projectId>` with a timeout and reads the JSON answer (`{}` when there is none). A request that
 * gets no answer rejects with fetch's own error.
 */
export function cxmlRestClient(options: CxmlRestOptions) {
  const doFetch = options.fetch ?? fetch;
  const base = `${options.spaceUrl}/api/laml/2010-04-01/Accounts/${encodeURIComponent(options.projectId)}`;
  const auth = `Basic ${Buffer.from(`${options.projectId}:${options.apiToken}`).toString('base64')}`;
  return {
    async post(path: string, form: URLSearchParams): Promise<CxmlResponse> {
      const response = await doFetch(`${base}${path}`, {
        method: 'POST',
        headers: {
          authorization: auth,
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'application/json',
        },
        body: form,
        signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
      });
      const payload = (await response.json().catch(() => ({}))) as CxmlPayload;
      return { response, payload };
    },
  };
}

/** The error for an answer the carrier refused (`what`: the message, the call, the hangup). */
export function refusal(what: string, { response, payload }: CxmlResponse): CarrierError {
  return new CarrierError(
    `carrier refused the ${what}: HTTP ${response.status} ${payload.message ?? ''}`.trim(),
    response.status,
    payload.code,
  );
}
