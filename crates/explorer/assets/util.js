// Small helpers shared by the explorer's modules: bytes, base64, hex, SHA-256, fetching with a
// deadline, and building DOM nodes without HTML strings (text is always set as text).

export const encoder = new TextEncoder();

/** Strict standard base64 (padded) to bytes; throws on anything else. */
export function b64decode(text) {
  if (typeof text !== "string" || text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) {
    throw new Error("not base64");
  }
  const raw = atob(text);
  const out = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
  return out;
}

/** Bytes to padded standard base64. */
export function b64encode(bytes) {
  let raw = "";
  for (const b of bytes) raw += String.fromCharCode(b);
  return btoa(raw);
}

/** Bytes to lowercase hex. */
export function hex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Hex (even length) to bytes; throws on anything else. */
export function fromHex(text) {
  if (typeof text !== "string" || text.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(text)) {
    throw new Error("not hex");
  }
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(text.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** The concatenation of byte arrays (numbers are single bytes). */
export function concat(...parts) {
  const arrays = parts.map((p) => (typeof p === "number" ? Uint8Array.of(p) : p));
  const out = new Uint8Array(arrays.reduce((n, a) => n + a.length, 0));
  let at = 0;
  for (const a of arrays) {
    out.set(a, at);
    at += a.length;
  }
  return out;
}

/** Whether two byte arrays are equal. */
export function equalBytes(a, b) {
  if (!(a instanceof Uint8Array) || !(b instanceof Uint8Array) || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** SHA-256 of bytes (WebCrypto). */
export async function sha256(bytes) {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
}

const DEADLINE_MS = 20000;

/** GET or POST `url`; returns the Response when 2xx, throws an Error naming the URL otherwise. */
export async function request(url, options = {}) {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), DEADLINE_MS);
  try {
    const response = await fetch(url, { ...options, signal: abort.signal, credentials: "omit", cache: "no-store" });
    if (!response.ok) {
      const error = new Error(`${options.method || "GET"} ${url}: HTTP ${response.status}`);
      error.status = response.status;
      throw error;
    }
    return response;
  } catch (e) {
    if (e.name === "AbortError") throw new Error(`${url}: no answer within ${DEADLINE_MS / 1000} s`);
    throw e;
  } finally {
    clearTimeout(timer);
  }
}

/** The JSON answer of `url` (an Error if the answer is not JSON). */
export async function fetchJSON(url, options) {
  const response = await request(url, options);
  try {
    return await response.json();
  } catch {
    throw new Error(`${url}: the answer is not JSON`);
  }
}

/** POSTs `body` as JSON; returns the JSON answer. */
export function postJSON(url, body) {
  return fetchJSON(url, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
}

/** The body of `url` as text. */
export async function fetchText(url) {
  return (await request(url)).text();
}

/** The body of `url` as bytes. */
export async function fetchBytes(url) {
  return new Uint8Array(await (await request(url)).arrayBuffer());
}

/**
 * Builds an element: `h("a", {href: "/", class: "x", data: {proof: "verified"}}, "text", child)`.
 * Strings become text nodes; null and false children are skipped.
 */
export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "data") {
      for (const [k, v] of Object.entries(value)) node.dataset[k] = String(v);
    } else if (key === "on") {
      for (const [k, v] of Object.entries(value)) node.addEventListener(k, v);
    } else if (key === "class") {
      node.className = value;
    } else if (value === true) {
      node.setAttribute(key, "");
    } else {
      node.setAttribute(key, String(value));
    }
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** A short message of an error of any kind. */
export function reason(e) {
  if (e instanceof Error) return e.message;
  return String(e);
}

/** A UTC time string from Unix seconds. */
export function utc(seconds) {
  if (!Number.isSafeInteger(seconds)) return "unknown";
  return new Date(seconds * 1000).toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC");
}
