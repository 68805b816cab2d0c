// A real OpenID provider shaped like one Microsoft Entra tenant, for nhiplan's `entra` tests.
//
// Usage: node server.mjs CONFIG.json
//   CONFIG = {
//     "cert": "leaf.pem", "key": "leaf.key",          TLS for https://127.0.0.1:<port>
//     "tenant": "<tenant id>",                         issuer https://127.0.0.1:<port>/<tenant>/v2.0
//     "resource": "https://127.0.0.1:<graph port>",    the one API tokens are issued for (Graph stand-in)
//     "clients": [{"client_id": ..., "client_secret": ...} | {"client_id": ..., "jwks": {...}}
//                 | {"client_id": ..., "public": true}],
//     "device_account": "<object id>",                 who approves a device-code sign-in
//     "device_poll_interval": 1,                       seconds between device-code polls (default 5)
//     "access_token_ttl": 600
//   }
// Prints one line "LISTENING <port>" when ready; stops on SIGTERM.
//
// Like Entra's v2 endpoints, discovery lives at <authority>/v2.0/.well-known/openid-configuration
// (authority = https://127.0.0.1:<port>/<tenant>), a request for scope "<resource>/.default" gets
// a JWT access token whose audience is the resource, signed with a key published at jwks_uri, and
// carrying `tid`, `appid` and `roles` claims. Confidential clients authenticate with
// client_secret_post or private_key_jwt (msal's certificate credential); a public client may use
// the device authorization grant (RFC 8628), whose browser step this peer completes for
// `device_account` once the user code is confirmed on the /device page.
import crypto from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';

import Provider from 'oidc-provider';

const config = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const mount = `/${config.tenant}/v2.0`;
const resource = config.resource.replace(/\/$/, '');
const graphScope = `${resource}/.default`;

const server = https.createServer({ cert: fs.readFileSync(config.cert), key: fs.readFileSync(config.key) });
await new Promise((resolve) => { server.listen(0, '127.0.0.1', resolve); });
const { port } = server.address();
const issuer = `https://127.0.0.1:${port}${mount}`;

const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: crypto.randomUUID(), use: 'sig', alg: 'RS256' };

const clients = config.clients.map((c) => {
  if (c.public) {
    return {
      client_id: c.client_id,
      token_endpoint_auth_method: 'none',
      grant_types: ['urn:ietf:params:oauth:grant-type:device_code', 'refresh_token'],
      response_types: [],
      redirect_uris: [],
    };
  }
  return {
    client_id: c.client_id,
    ...(c.client_secret ? { client_secret: c.client_secret, token_endpoint_auth_method: 'client_secret_post' }
      : { jwks: c.jwks, token_endpoint_auth_method: 'private_key_jwt' }),
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
  };
});

const accounts = new Set([config.device_account].filter(Boolean));

const provider = new Provider(issuer, {
  clients,
  jwks: { keys: [signingKey] },
  scopes: ['openid', 'offline_access', 'profile'],
  findAccount: async (_ctx, sub) => (accounts.has(sub) ? { accountId: sub, claims: () => ({ sub }) } : undefined),
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    deviceFlow: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => resource,
      useGrantedResource: () => true,
      getResourceServerInfo: (_ctx, indicator) => {
        if (indicator.replace(/\/$/, '') !== resource) throw new Error(`unknown resource ${indicator}`);
        return {
          scope: graphScope,
          audience: resource,
          accessTokenFormat: 'jwt',
          accessTokenTTL: config.access_token_ttl || 600,
          jwt: { sign: { alg: 'RS256' } },
        };
      },
    },
  },
  // Entra puts the tenant, the client's appId and the application roles in its access tokens.
  extraTokenClaims: (_ctx, token) => ({
    tid: config.tenant,
    appid: token.clientId,
    ...(token.accountId ? {} : { roles: ['Application.Read.All', 'Directory.Read.All'] }),
  }),
  interactions: { url: (_ctx, interaction) => `${mount}/interaction/${interaction.uid}` },
  pkce: { required: () => false },
  ttl: {
    AccessToken: config.access_token_ttl || 600,
    ClientCredentials: config.access_token_ttl || 600,
    DeviceCode: 600,
    Grant: 600,
    Interaction: 600,
    RefreshToken: 3600,
    Session: 600,
  },
});
provider.proxy = false;

// RFC 8628 lets the server say how often a device may poll; Entra says 5 seconds, tests say less.
if (config.device_poll_interval) {
  provider.use(async (ctx, next) => {
    await next();
    if (ctx.oidc?.route === 'device_authorization' && ctx.body && typeof ctx.body === 'object') {
      ctx.body.interval = config.device_poll_interval;
    }
  });
}

// The browser step of the device flow: the user (device_account) signs in and consents to
// everything the client asked for. Reached only after the user code was confirmed on /device.
async function finishInteraction(req, res) {
  const details = await provider.interactionDetails(req, res);
  const accountId = config.device_account;
  const grant = new provider.Grant({ accountId, clientId: details.params.client_id });
  const missing = details.prompt.details;
  if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
  for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes || {})) {
    grant.addResourceScope(indicator, scopes.join(' '));
  }
  const grantId = await grant.save();
  await provider.interactionFinished(req, res, { login: { accountId }, consent: { grantId } },
    { mergeWithLastSubmission: false });
}

const callback = provider.callback();
server.on('request', (req, res) => {
  if (!req.url.startsWith(`${mount}/`) && req.url !== mount) {
    res.writeHead(404).end();
    return;
  }
  if (req.method === 'GET' && req.url.startsWith(`${mount}/interaction/`)) {
    finishInteraction(req, res).catch((err) => {
      res.writeHead(500, { 'content-type': 'text/plain' }).end(String(err));
    });
    return;
  }
  // oidc-provider works out where it is mounted from originalUrl minus url.
  req.originalUrl = req.url;
  req.url = req.url.slice(mount.length) || '/';
  callback(req, res);
});

process.on('SIGTERM', () => { server.close(); process.exit(0); });
process.stdout.write(`LISTENING ${port}\n`);
