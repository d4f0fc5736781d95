#!/usr/bin/env node
// Runs npm `oauth2-mock-server` (installed by scripts/ensure-oauth2-mock-server) as a real OpenID
// provider for the OIDC tests: discovery at /.well-known/openid-configuration, an RS256 JWKS at
// /jwks, and ID tokens from the password grant at POST /token.
//
// Usage: node scripts/oauth2-mock-server.mjs [--port N] [--host H] [--alg RS256|ES256|...]
//                                            [--issuer URL]
//   --port    port to listen on (default 0: a free port chosen by the OS)
//   --host    address to listen on (default 127.0.0.1)
//   --alg     algorithm of the generated signing key (default RS256)
//   --issuer  issuer URL to advertise in discovery and in tokens instead of the listening
//             origin; `{origin}` in it is replaced by that origin (e.g. `{origin}/elsewhere`)
//
// Prints the issuer URL on stdout once listening, then serves until stdin closes or it gets
// SIGTERM/SIGINT.
//
// ID tokens from `grant_type=password&username=U` carry sub = U, aud = "sigstore", and, when U
// contains '@', email = U and email_verified = true. Extra form fields let a test bend one token:
//   signet_claims  JSON object merged into the ID token's claims; a null value removes the claim
//                  (e.g. {"exp": 1, "aud": "other", "email_verified": false})
//   signet_header  JSON object merged into the ID token's protected header (e.g. {"kid": "x"});
//                  `alg` always stays the key's algorithm
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const prefix =
  process.env.OAUTH2_MOCK_SERVER_PREFIX ?? path.join(here, '..', 'target', 'oauth2-mock-server');
const require = createRequire(path.join(prefix, 'package.json'));
const { OAuth2Server } = await import(pathToFileURL(require.resolve('oauth2-mock-server')).href);

const args = { port: '0', host: '127.0.0.1', alg: 'RS256', issuer: undefined };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i += 2) {
  const name = argv[i].replace(/^--/, '');
  if (!(name in args) || argv[i + 1] === undefined) {
    console.error(`usage: oauth2-mock-server.mjs [--port N] [--host H] [--alg ALG] [--issuer URL]`);
    process.exit(2);
  }
  args[name] = argv[i + 1];
}

function parseObject(text, field) {
  if (text === undefined) return {};
  const value = JSON.parse(text);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new Error(`${field} must be a JSON object`);
  }
  return value;
}

const server = new OAuth2Server();
await server.issuer.keys.generate(args.alg);

server.service.on('beforeTokenSigning', (token, req) => {
  // The access token carries `amr`; the ID token (built second) does not.
  if ('amr' in token.payload) return;
  const body = req.body ?? {};
  if (typeof body.username === 'string') {
    token.payload.sub = body.username;
    if (body.username.includes('@')) {
      token.payload.email = body.username;
      token.payload.email_verified = true;
    }
  }
  token.payload.aud = 'sigstore';
  for (const [k, v] of Object.entries(parseObject(body.signet_claims, 'signet_claims'))) {
    if (v === null) delete token.payload[k];
    else token.payload[k] = v;
  }
  Object.assign(token.header, parseObject(body.signet_header, 'signet_header'));
});

await server.start(Number(args.port), args.host);
const origin = `http://${args.host.includes(':') ? `[${args.host}]` : args.host}:${server.address().port}`;
server.issuer.url = args.issuer === undefined ? origin : args.issuer.replaceAll('{origin}', origin);
console.log(server.issuer.url);

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  await server.stop();
  process.exit(0);
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.stdin.on('end', stop);
process.stdin.on('close', stop);
process.stdin.resume();
