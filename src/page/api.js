// The REST API of the origin that served this page, and its errors as sentences a person can
// read.
//
// The session lives in the HttpOnly phoneauth_session cookie, which no script can read. The
// phoneauth_csrf cookie is readable on purpose: every state-changing call echoes it in the
// x-csrf-token header, which a page of another origin cannot do (src/rest/session_cookie.rs).

const CSRF_COOKIE = 'phoneauth_csrf';
const DETAIL = 'type.googleapis.com/google.rpc.';

/** A refused call: `lines` say why, one sentence each, ready to show. */
export class ApiError extends Error {
  constructor(httpStatus, lines) {
    super(lines.join('\n'));
    this.httpStatus = httpStatus;
    this.lines = lines;
  }
}

/** The CSRF token of the current session, or '' when the browser holds none. */
function csrfToken() {
  for (const pair of document.cookie.split(';')) {
    const [name, value] = pair.trim().split('=', 2);
    if (name === CSRF_COOKIE) return value ?? '';
  }
  return '';
}

/** Whether the browser holds a session cookie (it may still have expired on the server). */
export function hasSession() {
  return csrfToken() !== '';
}

/**
 * Calls `path` with `body` as JSON (for anything but GET) and answers the decoded JSON, or
 * throws an ApiError. The browser adds the session cookie; this adds the CSRF token.
 */
export async function call(method, path, body = {}, headers = {}) {
  const init = { method, headers: { ...headers }, credentials: 'same-origin', cache: 'no-store' };
  if (method !== 'GET') {
    init.headers['content-type'] = 'application/json';
    init.body = JSON.stringify(body);
    const csrf = csrfToken();
    if (csrf !== '') init.headers['x-csrf-token'] = csrf;
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch {
    throw new ApiError(0, ['The server cannot be reached. Check the connection and try again.']);
  }
  const json = await response.json().catch(() => null);
  if (response.ok && json !== null) return json;
  throw new ApiError(response.status, describe(json, response));
}

/**
 * A google.rpc.Status as sentences: each BadRequest field violation as "field: why" (or the
 * message when there is none), then "Try again in N s." from RetryInfo or Retry-After.
 */
function describe(status, response) {
  if (typeof status?.message !== 'string') {
    return [`The server answered ${response.status} ${response.statusText}.`.replace(' .', '.')];
  }
  const details = Array.isArray(status.details) ? status.details : [];
  const lines = details
    .filter((detail) => detail['@type'] === `${DETAIL}BadRequest`)
    .flatMap((detail) => detail.fieldViolations ?? [])
    .map((violation) => `${violation.field}: ${violation.description}`);
  const retry = details.find((detail) => detail['@type'] === `${DETAIL}RetryInfo`);
  const seconds = retrySeconds(retry?.retryDelay) ?? Number(response.headers.get('retry-after'));
  // A throttled call's message ends with the same delay in words; the last line says it.
  const message = seconds > 0 ? status.message.replace(/; retry in \d+ s$/, '') : status.message;
  if (lines.length === 0) lines.push(message);
  if (seconds > 0) lines.push(`Try again in ${inWords(seconds)}.`);
  return lines;
}

/** Whole seconds of a JSON google.protobuf.Duration ("2.500s"), rounded up; null if none. */
function retrySeconds(duration) {
  const seconds = Number.parseFloat(duration ?? '');
  return Number.isFinite(seconds) ? Math.max(1, Math.ceil(seconds)) : null;
}

function inWords(seconds) {
  return seconds < 120 ? `${seconds} s` : `${Math.ceil(seconds / 60)} min`;
}
