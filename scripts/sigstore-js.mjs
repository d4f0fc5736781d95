#!/usr/bin/env node
// A small command line over the sigstore-js libraries (npm `@sigstore/verify`, `@sigstore/sign`,
// `@sigstore/bundle`, `@sigstore/protobuf-specs`, installed by scripts/ensure-sigstore-js), so
// the interop test can have sigstore-js verify signet's bundles and sign bundles for signet to
// verify. Trust comes from the files named on the command line, or (verify only) from a TUF
// repository through sigstore-js's own TUF client (@sigstore/tuf); no other network except the
// services of the signing config when signing.
//
// Usage:
//   node scripts/sigstore-js.mjs verify (--trusted-root TR.json |
//        --tuf-mirror URL --tuf-root ROOT.json --tuf-cache DIR) --bundle B.json
//        (--identity ID --issuer URL | --key PUB.pem) FILE
//   node scripts/sigstore-js.mjs sign --signing-config SC.json --trusted-root TR.json --token JWT
//        [--dsse [--payload-type T]] [--rekor-v1] --bundle OUT FILE
//
// verify: the trusted root from --trusted-root, or `getTrustedRoot` of @sigstore/tuf (the
//   `trusted_root.json` target of the TUF repository at --tuf-mirror, bootstrapped from
//   --tuf-root, its state in --tuf-cache); then
//   `toTrustMaterial` + `Verifier` of @sigstore/verify over the bundle (`bundleFromJSON`,
//   `toSignedEntity`). --identity is matched exactly against the certificate's
//   subjectAlternativeName and --issuer exactly against its OIDC issuer extension. --key takes a
//   PEM public key and needs a bundle that carries a public-key hint. sigstore-js checks a DSSE
//   envelope's signature but not what it is about, so for a DSSE bundle this CLI also checks
//   FILE: with an in-toto payload (`application/vnd.in-toto+json`), one of the statement's
//   subjects must have FILE's sha256; with any other payload type the payload must be FILE's
//   bytes. Prints "Verified OK" and exits 0, or prints the error on stderr and exits 1 (usage
//   errors too).
//
// sign: `bundleBuilderFromSigningConfig` of @sigstore/sign, with --token as the identity
//   provider. Signs FILE as a message signature, or with --dsse a DSSE envelope whose payload is
//   FILE's bytes and whose payload type is --payload-type (default
//   `application/vnd.in-toto+json`). The signing config keeps only its Rekor logs of the highest
//   major API version sigstore-js speaks (2), so Rekor v2 + TSA is used when offered; --rekor-v1
//   keeps only the Rekor v1 logs instead. A TSA of the signing config is used either way (a
//   config without TSA URLs signs without one, even when it has a tsaConfig selector). The
//   bundle is written to OUT and then verified against --trusted-root (without an identity
//   policy): exit 1 when sigstore-js cannot verify what it signed.
//
// --trusted-root and --signing-config also take a ClientTrustConfig (trust_config.json).
import { readFileSync, writeFileSync } from 'node:fs';
import { createHash, createPublicKey } from 'node:crypto';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const prefix = process.env.SIGSTORE_JS_PREFIX ?? path.join(here, '..', 'target', 'sigstore-js');
const require = createRequire(path.join(prefix, 'package.json'));
const { TrustedRoot, SigningConfig } = require('@sigstore/protobuf-specs');
const { bundleFromJSON, bundleToJSON } = require('@sigstore/bundle');
const { toSignedEntity, toTrustMaterial, Verifier } = require('@sigstore/verify');
const { bundleBuilderFromSigningConfig } = require('@sigstore/sign');

const IN_TOTO = 'application/vnd.in-toto+json';

const usage = `usage:
  sigstore-js.mjs verify (--trusted-root TR.json | --tuf-mirror URL --tuf-root ROOT.json --tuf-cache DIR) --bundle B.json (--identity ID --issuer URL | --key PUB.pem) FILE
  sigstore-js.mjs sign --signing-config SC.json --trusted-root TR.json --token JWT [--dsse [--payload-type T]] [--rekor-v1] --bundle OUT FILE`;

class UsageError extends Error {}

// Parses `--name value` options (and the given flags) followed by exactly one positional FILE.
function parseArgs(argv, valued, flags) {
  const opts = {};
  const positional = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) {
      positional.push(arg);
      continue;
    }
    const name = arg.slice(2);
    if (flags.includes(name)) {
      opts[name] = true;
    } else if (valued.includes(name) && argv[i + 1] !== undefined) {
      opts[name] = argv[++i];
    } else {
      throw new UsageError(`unknown option or missing value: ${arg}`);
    }
  }
  if (positional.length !== 1) throw new UsageError('exactly one FILE is needed');
  return { opts, file: positional[0] };
}

function required(opts, ...names) {
  for (const name of names) {
    if (opts[name] === undefined) throw new UsageError(`--${name} is required`);
  }
}

function readJSON(file) {
  return JSON.parse(readFileSync(file, 'utf8'));
}

// A trusted root, or the trusted root of a ClientTrustConfig.
function loadTrustedRoot(file) {
  const json = readJSON(file);
  return TrustedRoot.fromJSON(json.trustedRoot ?? json);
}

// A signing config, or the signing config of a ClientTrustConfig.
function loadSigningConfig(file) {
  const json = readJSON(file);
  return SigningConfig.fromJSON(json.signingConfig ?? json);
}

function escapeRegExp(text) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function sha256Hex(data) {
  return createHash('sha256').update(data).digest('hex');
}

// sigstore-js verifies a DSSE envelope's signature only; this checks that it is about FILE.
function checkDSSEArtifact(envelope, artifact) {
  if (envelope.payloadType === IN_TOTO) {
    let statement;
    try {
      statement = JSON.parse(envelope.payload.toString('utf8'));
    } catch (err) {
      throw new Error(`DSSE payload is not an in-toto statement: ${err.message}`);
    }
    const want = sha256Hex(artifact);
    const subjects = Array.isArray(statement.subject) ? statement.subject : [];
    if (!subjects.some((s) => s?.digest?.sha256?.toLowerCase() === want)) {
      throw new Error(`artifact sha256:${want} is not a subject of the in-toto statement`);
    }
  } else if (!envelope.payload.equals(artifact)) {
    throw new Error(`DSSE payload (type ${envelope.payloadType}) is not the artifact`);
  }
}

async function verify(argv) {
  const { opts, file } = parseArgs(
    argv,
    ['trusted-root', 'tuf-mirror', 'tuf-root', 'tuf-cache', 'bundle', 'identity', 'issuer', 'key'],
    [],
  );
  required(opts, 'bundle');
  const byTUF = opts['tuf-mirror'] !== undefined;
  if (byTUF === (opts['trusted-root'] !== undefined)) {
    throw new UsageError('give either --trusted-root, or --tuf-mirror with --tuf-root and --tuf-cache');
  }
  if (byTUF) required(opts, 'tuf-root', 'tuf-cache');
  const byKey = opts.key !== undefined;
  if (byKey === (opts.identity !== undefined || opts.issuer !== undefined)) {
    throw new UsageError('give either --identity and --issuer, or --key');
  }
  if (!byKey) required(opts, 'identity', 'issuer');

  const root = byTUF
    ? await require('@sigstore/tuf').getTrustedRoot({
        mirrorURL: opts['tuf-mirror'],
        rootPath: opts['tuf-root'],
        cachePath: opts['tuf-cache'],
        retry: false,
      })
    : loadTrustedRoot(opts['trusted-root']);
  let keys;
  if (byKey) {
    const publicKey = createPublicKey(readFileSync(opts.key));
    // The one key given is the key for whatever hint the bundle names.
    keys = () => ({ publicKey, validFor: () => true });
  }
  const trustMaterial = toTrustMaterial(root, keys);
  const bundle = bundleFromJSON(readJSON(opts.bundle));
  if (byKey && bundle.verificationMaterial.content.$case !== 'publicKey') {
    throw new Error(`--key needs a bundle signed with a key, not one with a ${bundle.verificationMaterial.content.$case}`);
  }
  const artifact = readFileSync(file);
  const entity = toSignedEntity(bundle, artifact);
  const policy = byKey
    ? undefined
    : {
        subjectAlternativeName: new RegExp(`^${escapeRegExp(opts.identity)}$`),
        extensions: { issuer: opts.issuer },
      };
  const signer = new Verifier(trustMaterial).verify(entity, policy);
  if (bundle.content.$case === 'dsseEnvelope') {
    checkDSSEArtifact(bundle.content.dsseEnvelope, artifact);
  }
  console.log('Verified OK');
  if (signer.identity?.subjectAlternativeName !== undefined) {
    console.log(`signer: ${signer.identity.subjectAlternativeName}`);
    console.log(`issuer: ${signer.identity.extensions?.issuer}`);
  }
}

// Keeps the Rekor logs sigstore-js should use: v1 only, or those of the highest version <= 2.
function selectLogs(signingConfig, rekorV1) {
  const logs = signingConfig.rekorTlogUrls.filter((l) => l.majorApiVersion >= 1 && l.majorApiVersion <= 2);
  const version = rekorV1 ? 1 : Math.max(0, ...logs.map((l) => l.majorApiVersion));
  const kept = logs.filter((l) => l.majorApiVersion === version);
  if (kept.length === 0) {
    throw new Error(`the signing config has no Rekor v${rekorV1 ? 1 : '1 or v2'} log`);
  }
  const selected = { ...signingConfig, rekorTlogUrls: kept };
  // @sigstore/sign refuses a config whose tsaConfig names no TSA ("No valid TSAs found in
  // signing configuration"); no TSA URLs means no TSA, so drop the selector too.
  if (selected.tsaUrls.length === 0) delete selected.tsaConfig;
  return selected;
}

async function sign(argv) {
  const { opts, file } = parseArgs(
    argv,
    ['signing-config', 'trusted-root', 'token', 'payload-type', 'bundle'],
    ['dsse', 'rekor-v1'],
  );
  required(opts, 'signing-config', 'trusted-root', 'token', 'bundle');
  if (opts['payload-type'] !== undefined && !opts.dsse) {
    throw new UsageError('--payload-type needs --dsse');
  }
  const root = loadTrustedRoot(opts['trusted-root']);
  const signingConfig = selectLogs(loadSigningConfig(opts['signing-config']), opts['rekor-v1'] === true);
  const token = opts.token;
  const builder = bundleBuilderFromSigningConfig({
    signingConfig,
    identityProvider: { getToken: async () => token },
    bundleType: opts.dsse ? 'dsseEnvelope' : 'messageSignature',
  });
  const data = readFileSync(file);
  const artifact = opts.dsse ? { data, type: opts['payload-type'] ?? IN_TOTO } : { data };
  const bundle = await builder.create(artifact);
  writeFileSync(opts.bundle, JSON.stringify(bundleToJSON(bundle), null, 2) + '\n');

  const log = bundle.verificationMaterial.tlogEntries[0]?.kindVersion;
  console.error(`sigstore-js: wrote ${opts.bundle} (${bundle.mediaType}, tlog entry ${log?.kind}/${log?.version})`);
  // What sigstore-js signs it must verify itself.
  try {
    new Verifier(toTrustMaterial(root)).verify(toSignedEntity(bundle, data));
  } catch (err) {
    throw new Error(`sigstore-js cannot verify the bundle it signed: ${describe(err)}`);
  }
}

// An error and its causes, one line.
function describe(err) {
  const parts = [];
  for (let e = err; e !== undefined && e !== null; e = e.cause) {
    const code = e.code ? ` [${e.code}]` : '';
    parts.push(`${e.name ?? 'Error'}${code}: ${e.message ?? e}`);
    if (typeof e !== 'object' || parts.length > 8) break;
  }
  return parts.join(' <- ');
}

const [command, ...rest] = process.argv.slice(2);
try {
  if (command === 'verify') {
    await verify(rest);
  } else if (command === 'sign') {
    await sign(rest);
  } else {
    throw new UsageError(`unknown command: ${command ?? '(none)'}`);
  }
} catch (err) {
  if (err instanceof UsageError) {
    console.error(`error: ${err.message}\n${usage}`);
  } else {
    console.error(`error: ${describe(err)}`);
  }
  process.exit(1);
}
