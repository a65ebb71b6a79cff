// The local OpenID provider of the development stack: panva's oidc-provider (OpenID
// Certified), configured as a stand-in for the national e-ID (VNeID): it asserts a citizen's
// national ID in the `national_id` claim, with `name` and `birthdate`. Test citizens only:
// the development sign-in form takes a login and no password, and the login is the citizen's
// 12-digit national ID (see citizens.json for named ones; any other 12 digits is a citizen
// "Nguyễn Thị Hương", born 1990-05-14, as the tests' centres record them). Never run this
// outside a development machine.
//
// For the tests of a tampered ID token (which travels from this provider to the relying party
// over the back channel, where no browser can touch it), the login `tampered-id-token:` +
// 12 digits signs that citizen in, and the token endpoint then hands out an ID token whose
// claims were rewritten after signing (another national ID, the signature left as it was) —
// what an attacker on the back channel would send. The relying party must refuse it.
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import * as jose from 'jose';
import Provider from 'oidc-provider';

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};
const port = Number(env('LT_OIDC_PORT'));
const issuer = env('LT_OIDC_ISSUER');
const keysFile = env('LT_OIDC_KEYS_FILE');
const citizens = JSON.parse(readFileSync(new URL('./citizens.json', import.meta.url), 'utf8'));

async function signingKeys() {
  if (existsSync(keysFile)) return JSON.parse(readFileSync(keysFile, 'utf8'));
  const { privateKey } = await jose.generateKeyPair('RS256', { extractable: true });
  const jwk = { ...(await jose.exportJWK(privateKey)), alg: 'RS256', use: 'sig' };
  jwk.kid = await jose.calculateJwkThumbprint(jwk);
  const keys = { keys: [jwk] };
  writeFileSync(keysFile, JSON.stringify(keys), { mode: 0o600 });
  return keys;
}

const TAMPERED = 'tampered-id-token:';

function citizen(login) {
  const id = login.startsWith(TAMPERED) ? login.slice(TAMPERED.length) : login;
  if (!/^[0-9]{12}$/.test(id)) return undefined;
  return { name: 'Nguyễn Thị Hương', birthdate: '1990-05-14', ...(citizens[id] || {}) };
}

const configuration = {
  clients: [
    {
      client_id: env('LT_OIDC_CLIENT_ID'),
      client_secret: env('LT_OIDC_CLIENT_SECRET'),
      redirect_uris: [env('LT_OIDC_REDIRECT_URI')],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    },
  ],
  jwks: await signingKeys(),
  cookies: { keys: [randomBytes(32).toString('base64url')] },
  pkce: { required: () => true },
  scopes: ['openid', 'profile', 'national_id'],
  claims: { openid: ['sub'], profile: ['name', 'birthdate'], national_id: ['national_id'] },
  // the relying party reads the national ID from the ID token itself, signed
  conformIdTokenClaims: false,
  features: { devInteractions: { enabled: true } },
  async findAccount(ctx, id) {
    const person = citizen(id);
    if (!person) return undefined;
    return {
      accountId: id,
      async claims() {
        const nationalId = id.startsWith(TAMPERED) ? id.slice(TAMPERED.length) : id;
        return { sub: id, national_id: nationalId, name: person.name, birthdate: person.birthdate };
      },
    };
  },
};

const provider = new Provider(issuer, configuration);

// the back-channel attacker of the tampered-ID-token tests (see the top of this file)
provider.use(async (ctx, next) => {
  await next();
  const idToken = ctx.path === '/token' && ctx.body && ctx.body.id_token;
  if (typeof idToken !== 'string') return;
  const [header, payload, signature] = idToken.split('.');
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  if (!String(claims.sub).startsWith(TAMPERED)) return;
  const other = claims.national_id.endsWith('0') ? '1' : '0';
  claims.national_id = claims.national_id.slice(0, 11) + other;
  const rewritten = Buffer.from(JSON.stringify(claims)).toString('base64url');
  ctx.body = { ...ctx.body, id_token: `${header}.${rewritten}.${signature}` };
});
provider.listen(port, '127.0.0.1', () => {
  console.log(JSON.stringify({ message: 'oidc provider listening', issuer, port }));
});
