// A real OpenID provider for nhiplan's playbook tests, built on oidc-provider 9.
//
// Usage: node server.mjs CONFIG.json
//   CONFIG = {"cert": "leaf.pem", "key": "leaf.key", "scopes": ["db.read", ...], "path": "/tenant"}
// Serves HTTPS on 127.0.0.1 on a free port and prints one line "LISTENING <port>" when ready;
// the issuer is https://127.0.0.1:<port><path>. Stops on SIGTERM.
//
// What it offers: dynamic client registration (RFC 7591, open, no initial access token),
// client_credentials with client_secret_post / client_secret_basic / private_key_jwt (RFC 7523) /
// tls_client_auth (RFC 8705), token introspection, and the token-exchange grant (RFC 8693) where
// an agent presents its own token as actor_token and a user's token as subject_token.
import fs from 'node:fs';
import https from 'node:https';

import Provider, { errors } from 'oidc-provider';

const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';

const config = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const path = config.path || '';

const server = https.createServer({ cert: fs.readFileSync(config.cert), key: fs.readFileSync(config.key) });

await new Promise((resolve) => { server.listen(0, '127.0.0.1', resolve); });
const { port } = server.address();
const issuer = `https://127.0.0.1:${port}${path}`;

const provider = new Provider(issuer, {
  clients: [],
  scopes: ['openid', ...(config.scopes || [])],
  clientAuthMethods: ['client_secret_post', 'client_secret_basic', 'private_key_jwt', 'tls_client_auth', 'none'],
  features: {
    devInteractions: { enabled: false },
    registration: { enabled: true, initialAccessToken: false },
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    // tls_client_auth clients can be registered; this test peer terminates TLS without asking for
    // client certificates, so an mTLS token request is not made against it.
    mTLS: { enabled: true, tlsClientAuth: true, getCertificate: () => undefined },
  },
  ttl: {
    ClientCredentials: 600,
    AccessToken: 600,
  },
  // Opaque tokens keep the claims this returns (introspection shows them): the `act` / `sub` /
  // `may_act` a grant put on the token when it issued it.
  extraTokenClaims: (ctx, token) => (token.extra ? { ...token.extra } : undefined),
});

// RFC 8693 token exchange: the authenticated client is the actor. Its own token (actor_token) must
// have been issued to it; the subject token is any valid token of this provider (the user's). The
// issued token names the subject and carries `act` {sub: the agent}. A subject token whose `may_act`
// names another actor is refused.
async function findToken(value) {
  const { AccessToken, ClientCredentials } = provider;
  return (await AccessToken.find(value)) || (await ClientCredentials.find(value));
}

provider.registerGrantType(TOKEN_EXCHANGE, async (ctx) => {
  const { params, client } = ctx.oidc;
  if (!params.subject_token || params.subject_token_type !== ACCESS_TOKEN_TYPE) {
    throw new errors.InvalidRequest(`subject_token of type ${ACCESS_TOKEN_TYPE} is required`);
  }
  const subject = await findToken(params.subject_token);
  if (!subject || subject.isExpired) {
    throw new errors.InvalidGrant('subject_token is invalid or expired');
  }
  const subjectSub = subject.accountId || subject.extra?.sub || subject.clientId;
  if (params.actor_token) {
    if (params.actor_token_type !== ACCESS_TOKEN_TYPE) {
      throw new errors.InvalidRequest(`actor_token_type must be ${ACCESS_TOKEN_TYPE}`);
    }
    const actor = await findToken(params.actor_token);
    if (!actor || actor.isExpired || actor.clientId !== client.clientId) {
      throw new errors.InvalidGrant('actor_token was not issued to the authenticated client');
    }
  }
  const mayAct = subject.extra?.may_act;
  if (mayAct && mayAct.sub && mayAct.sub !== client.clientId) {
    throw new errors.InvalidGrant('the subject token does not allow this client to act for it (may_act)');
  }
  const allowed = new Set((client.scope || '').split(' ').filter(Boolean));
  const requested = (params.scope || '').split(' ').filter(Boolean);
  const refused = requested.filter((s) => !allowed.has(s));
  if (refused.length) {
    throw new errors.InvalidScope('requested scope is not allowed for this client', refused.join(' '));
  }
  const token = new provider.ClientCredentials({
    client,
    scope: requested.join(' ') || undefined,
    extra: { sub: subjectSub, act: { sub: client.clientId } },
  });
  const value = await token.save();
  ctx.body = {
    access_token: value,
    issued_token_type: ACCESS_TOKEN_TYPE,
    token_type: 'Bearer',
    expires_in: token.expiration,
    scope: token.scope,
  };
}, ['subject_token', 'subject_token_type', 'actor_token', 'actor_token_type', 'scope', 'audience', 'resource',
  'requested_token_type']);

// Test hook: a subject token for a user, with the may_act claim a real IdP would put in it. Only
// reachable on loopback in tests; it stands for the user's own sign-in, which this peer has no UI for.
const userTokenPath = `${path}/test/user-token`;
const callback = provider.callback();
server.on('request', async (req, res) => {
  if (req.method === 'POST' && req.url === userTokenPath) {
    let body = '';
    for await (const chunk of req) body += chunk;
    const { client_id: clientId, sub, may_act: mayAct, scope } = JSON.parse(body);
    const client = await provider.Client.find(clientId);
    if (!client) {
      res.writeHead(404).end();
      return;
    }
    const token = new provider.ClientCredentials({ client, scope, extra: { sub, may_act: mayAct } });
    const value = await token.save();
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ access_token: value }));
    return;
  }
  if (path && req.url.startsWith(path)) {
    // Mounted under the issuer's path: oidc-provider derives its endpoint URLs from the difference
    // between originalUrl (as requested) and url (as routed).
    req.originalUrl = req.url;
    req.url = req.url.slice(path.length) || '/';
  }
  callback(req, res);
});
provider.proxy = false;

process.on('SIGTERM', () => { server.close(); process.exit(0); });
process.stdout.write(`LISTENING ${port}\n`);
