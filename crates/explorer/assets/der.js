// A minimal, bounded DER reader for what the explorer shows of a certificate: subject
// alternative names, issuer, validity, the Fulcio extensions in words, and the key algorithm.
// It never throws past `describeCertificate`/`describePublicKey`, which return an error field.

import { b64decode, hex } from "./util.js";


/** Reads the DER element at `at` of `bytes`: {tag, start, end, next}. */
function read(bytes, at, limit) {
  if (at + 2 > limit) throw new Error("short DER");
  const tag = bytes[at];
  let len = bytes[at + 1];
  let start = at + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n < 1 || n > 4 || start + n > limit) throw new Error("bad DER length");
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + bytes[start + i];
    start += n;
  }
  const end = start + len;
  if (end > limit) throw new Error("DER element runs past its parent");
  return { tag, start, end, bytes };
}

/** The elements inside constructed element `node`. */
function children(node) {
  const out = [];
  let at = node.start;
  while (at < node.end) {
    const child = read(node.bytes, at, node.end);
    out.push(child);
    at = child.end;
    if (out.length > 10000) throw new Error("too many DER elements");
  }
  return out;
}

function content(node) {
  return node.bytes.slice(node.start, node.end);
}

function oid(node) {
  if (node.tag !== 0x06) throw new Error("not an OID");
  const b = content(node);
  if (b.length === 0) throw new Error("empty OID");
  const parts = [];
  let value = 0;
  for (let i = 0; i < b.length; i++) {
    value = value * 128 + (b[i] & 0x7f);
    if (!(b[i] & 0x80)) {
      if (parts.length === 0) {
        const first = value < 80 ? Math.floor(value / 40) : 2;
        parts.push(first, value - first * 40);
      } else {
        parts.push(value);
      }
      value = 0;
    }
  }
  return parts.join(".");
}

function text(node) {
  return new TextDecoder("utf-8", { fatal: false }).decode(content(node));
}

function time(node) {
  const t = text(node);
  const m = node.tag === 0x17 ? /^(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)Z$/.exec(t) : /^(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)Z$/.exec(t);
  if (!m) return t;
  let year = Number(m[1]);
  if (node.tag === 0x17) year += year < 50 ? 2000 : 1900;
  return `${year}-${m[2]}-${m[3]} ${m[4]}:${m[5]}:${m[6]} UTC`;
}

const NAME_ATTRIBUTES = { "2.5.4.3": "CN", "2.5.4.10": "O", "2.5.4.11": "OU", "2.5.4.6": "C", "1.2.840.113549.1.9.1": "E" };

function name(node) {
  const parts = [];
  for (const set of children(node)) {
    for (const attr of children(set)) {
      const [type, value] = children(attr);
      if (type && value) parts.push(`${NAME_ATTRIBUTES[oid(type)] || oid(type)}=${text(value)}`);
    }
  }
  return parts.join(", ");
}

/** Fulcio's certificate extensions (OID arc 1.3.6.1.4.1.57264.1), in words. */
const FULCIO = {
  1: "Issuer (v1)",
  2: "GitHub workflow trigger (v1)",
  3: "GitHub workflow SHA (v1)",
  4: "GitHub workflow name (v1)",
  5: "GitHub workflow repository (v1)",
  6: "GitHub workflow ref (v1)",
  7: "Other name SAN",
  8: "Issuer",
  9: "Build signer URI",
  10: "Build signer digest",
  11: "Runner environment",
  12: "Source repository URI",
  13: "Source repository digest",
  14: "Source repository ref",
  15: "Source repository identifier",
  16: "Source repository owner URI",
  17: "Source repository owner identifier",
  18: "Build config URI",
  19: "Build config digest",
  20: "Build trigger",
  21: "Run invocation URI",
  22: "Source repository visibility at signing",
  23: "Deployment environment",
};

const OTHER_EXTENSIONS = {
  "2.5.29.15": "Key usage",
  "2.5.29.37": "Extended key usage",
  "2.5.29.14": "Subject key identifier",
  "2.5.29.35": "Authority key identifier",
  "2.5.29.19": "Basic constraints",
  "1.3.6.1.4.1.11129.2.4.2": "Embedded SCTs",
  "1.3.6.1.4.1.11129.2.4.3": "Precertificate poison",
};

const KEY_USAGES = ["digital signature", "non-repudiation", "key encipherment", "data encipherment", "key agreement", "certificate signing", "CRL signing", "encipher only", "decipher only"];
const EXTENDED_KEY_USAGES = {
  "1.3.6.1.5.5.7.3.1": "TLS server",
  "1.3.6.1.5.5.7.3.2": "TLS client",
  "1.3.6.1.5.5.7.3.3": "code signing",
  "1.3.6.1.5.5.7.3.4": "email protection",
  "1.3.6.1.5.5.7.3.8": "timestamping",
};

/** A standard extension's value in words (its size when not understood). */
function describeExtension(id, octets) {
  try {
    const node = read(octets, 0, octets.length);
    if (id === "2.5.29.15" && node.tag === 0x03) {
      const b = content(node);
      const names = [];
      for (let bit = 0; bit < 9; bit++) {
        const byte = b[1 + (bit >> 3)];
        if (byte !== undefined && byte & (0x80 >> (bit & 7))) names.push(KEY_USAGES[bit]);
      }
      return names.join(", ") || "none";
    }
    if (id === "2.5.29.37") return children(node).map((o) => EXTENDED_KEY_USAGES[oid(o)] || oid(o)).join(", ");
    if (id === "2.5.29.19") {
      const [ca] = children(node);
      return ca && ca.tag === 0x01 && content(ca)[0] ? "CA" : "not a CA";
    }
    if (id === "2.5.29.14" && node.tag === 0x04) return hex(content(node));
  } catch {
    // Fall through to the size.
  }
  return `${octets.length} bytes`;
}

function subjectAltNames(octets) {
  const names = [];
  const seq = read(octets, 0, octets.length);
  for (const g of children(seq)) {
    const kind = g.tag & 0x1f;
    if (kind === 1) names.push({ type: "email", value: text(g) });
    else if (kind === 2) names.push({ type: "DNS", value: text(g) });
    else if (kind === 6) names.push({ type: "URI", value: text(g) });
    else if (kind === 0 && g.tag === 0xa0) {
      const [type, value] = children(g);
      let v = "";
      if (value && value.tag === 0xa0) {
        const inner = children(value)[0];
        if (inner) v = text(inner);
      }
      names.push({ type: `other name ${type ? oid(type) : ""}`, value: v });
    } else {
      names.push({ type: `tag ${g.tag}`, value: hex(content(g)) });
    }
  }
  return names;
}

function keyAlgorithm(spki) {
  const [alg] = children(spki);
  const [algOid, param] = children(alg);
  const id = oid(algOid);
  if (id === "1.2.840.10045.2.1") {
    const curve = param && param.tag === 0x06 ? oid(param) : "";
    const curves = { "1.2.840.10045.3.1.7": "P-256", "1.3.132.0.34": "P-384", "1.3.132.0.35": "P-521" };
    return `ECDSA ${curves[curve] || curve}`;
  }
  if (id === "1.3.101.112") return "Ed25519";
  if (id === "1.2.840.113549.1.1.1") return "RSA";
  return id;
}

/**
 * What a DER certificate says: {subject, issuer, notBefore, notAfter, sans, oidcIssuer,
 * extensions: [{name, value}], key} or {error}.
 */
export function describeCertificate(der) {
  try {
    const cert = read(der, 0, der.length);
    if (cert.tag !== 0x30) throw new Error("not a certificate");
    const [tbs] = children(cert);
    let fields = children(tbs);
    if (fields[0] && fields[0].tag === 0xa0) fields = fields.slice(1);
    const [serial, , issuer, validity, subject, spki, ...rest] = fields;
    if (!spki) throw new Error("truncated certificate");
    const [notBefore, notAfter] = children(validity);
    const out = {
      serial: hex(content(serial)),
      issuer: name(issuer),
      subject: name(subject),
      notBefore: notBefore ? time(notBefore) : "",
      notAfter: notAfter ? time(notAfter) : "",
      key: keyAlgorithm(spki),
      sans: [],
      oidcIssuer: null,
      extensions: [],
    };
    const extsWrapper = rest.find((n) => n.tag === 0xa3);
    if (extsWrapper) {
      const [exts] = children(extsWrapper);
      for (const ext of exts ? children(exts) : []) {
        const parts = children(ext);
        const id = oid(parts[0]);
        const octets = content(parts[parts.length - 1]);
        if (id === "2.5.29.17") {
          out.sans = subjectAltNames(octets);
          continue;
        }
        const fulcio = /^1\.3\.6\.1\.4\.1\.57264\.1\.(\d+)$/.exec(id);
        if (fulcio) {
          const n = Number(fulcio[1]);
          // v1 extensions (1–6) hold the raw string; later ones a DER UTF8String.
          let value;
          if (n <= 6) value = new TextDecoder().decode(octets);
          else {
            try {
              value = text(read(octets, 0, octets.length));
            } catch {
              value = hex(octets);
            }
          }
          if (n === 8 || (n === 1 && !out.oidcIssuer)) out.oidcIssuer = value;
          out.extensions.push({ name: FULCIO[n] || `Fulcio extension ${n}`, value });
        } else {
          out.extensions.push({ name: OTHER_EXTENSIONS[id] || id, value: describeExtension(id, octets) });
        }
      }
    }
    return out;
  } catch (e) {
    return { error: `cannot read the certificate: ${e.message}` };
  }
}

/** What a DER SubjectPublicKeyInfo is: {key} or {error}. */
export function describePublicKey(der) {
  try {
    return { key: keyAlgorithm(read(der, 0, der.length)) };
  } catch (e) {
    return { error: `cannot read the public key: ${e.message}` };
  }
}

/** The DER inside a PEM text (the first block), and its label. */
export function fromPem(pem) {
  const m = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/.exec(pem);
  if (!m) throw new Error("not PEM");
  return { label: m[1], der: b64decode(m[2].replace(/\s+/g, "")) };
}

