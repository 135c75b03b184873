// A bad configuration is refused at on_configure with one log line naming the field and the
// reason; it never yields a half-working filter. Also: the schema file agrees with the filter.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import Ajv2020 from 'ajv/dist/2020.js';
import { load, config, makeKey, ISS } from './fixture.ts';

const schema = JSON.parse(readFileSync('config/cellauth.schema.json', 'utf8'));
const ajv = new (Ajv2020 as any)({ allErrors: true, strict: false });
const validate = ajv.compile(schema);

const key = await makeKey('ES256');
const good = config([key]);

const bad: Array<[string, unknown, RegExp]> = [
  ['not JSON', '{"version": "v1",', /config is not valid JSON/],
  ['wrong version', { ...good, version: 'v2' }, /config\.version: must be "v1"/],
  ['missing cell', { ...good, cell: undefined }, /config\.cell: is required/],
  ['cell not a DNS label', { ...good, cell: 'Bad_Cell' }, /config\.cell: must be a DNS label/],
  ['unknown top field', { ...good, enableSignatureValidaton: false }, /config\.enableSignatureValidaton: unknown field/],
  ['no jwtRules', { ...good, jwtRules: [] }, /config\.jwtRules: must be a non-empty list/],
  ['rule without issuer', { ...good, jwtRules: [{ jwks: { keys: [] } }] }, /config\.jwtRules\[0\]\.issuer: is required/],
  ['both jwks and remoteJwks', { ...good, jwtRules: [{ issuer: ISS, jwks: { keys: [key.jwk] }, remoteJwks: { cluster: 'c' } }] }, /needs exactly one of jwks \(inline\) or remoteJwks/],
  ['inline JWKS with no usable key', { ...good, jwtRules: [{ issuer: ISS, jwks: { keys: [{ kty: 'RSA', n: 'AQAB', e: 'AQAB' }] } }] }, /config\.jwtRules\[0\]\.jwks: JWKS has no usable signing key/],
  ['alg none in allowlist', { ...good, jwtRules: [{ issuer: ISS, jwks: { keys: [key.jwk] }, algorithms: ['none'] }] }, /algorithms\[0\]: unsupported algorithm "none"/],
  ['bad header name', { ...good, jwtRules: [{ issuer: ISS, jwks: { keys: [key.jwk] }, outputClaimToHeaders: [{ header: 'x bad', claim: 'sub' }] }] }, /outputClaimToHeaders\[0\]\.header: is not a valid header name/],
  ['skew out of range', { ...good, jwtRules: [{ issuer: ISS, jwks: { keys: [key.jwk] }, clockSkewSeconds: -1 }] }, /clockSkewSeconds: must be between 0 and 3600/],
  ['bad template', { ...good, rules: [{ match: { pathTemplate: '/a/{**}/{*}' }, requires: 'none' }] }, /config\.rules\[0\]\.match\.pathTemplate/],
  ['rule names unknown provider', { ...good, rules: [{ match: { prefix: '/' }, requires: 'required', providers: ['nope'] }] }, /providers\[0\]: names no jwtRule/],
  ['bad requirement', { ...good, defaultRequirement: 'maybe' }, /config\.defaultRequirement: must be one of/],
  ['signature validation off without acknowledgement', { ...good, enableSignatureValidation: false }, /requires insecureAcknowledgeSignatureValidationDisabled: true/],
  ['outbound without tokenExchange', { ...good, mode: 'outbound' }, /config\.tokenExchange: is required in outbound and gateway modes/],
  ['outbound without destinations', { ...good, mode: 'outbound', tokenExchange: { cluster: 'sts' } }, /config\.tokenExchange\.destinations: is required in outbound mode/],
  ['the removed cellHostPattern', { ...good, mode: 'outbound', tokenExchange: { cluster: 'sts', cellHostPattern: '--', destinations: [{ cell: 'b' }] } }, /config\.tokenExchange\.cellHostPattern: was removed/],
  ['destination cell not a DNS label', { ...good, mode: 'outbound', tokenExchange: { cluster: 'sts', destinations: [{ cell: 'B.x' }] } }, /config\.tokenExchange\.destinations\[0\]\.cell: must be a DNS label/],
  ['gateway rule without audiences', { ...good, mode: 'gateway', tokenExchange: { cluster: 'sts' }, jwtRules: [{ issuer: ISS, jwks: { keys: [key.jwk] } }] }, /config\.jwtRules\[0\]\.audiences: is required in gateway mode/],
  ['boundToPeer on an issuer that is no cell STS', { ...good, jwtRules: [{ issuer: ISS, jwks: { keys: [key.jwk] }, boundToPeer: true }] }, /config\.jwtRules\[0\]\.boundToPeer: needs a cell STS issuer/],
  ['bad trust domain', { ...good, trustDomain: 'Cluster Local' }, /config\.trustDomain: must be a SPIFFE trust domain/],
];

for (const [name, cfg, why] of bad) {
  test(`refused: ${name}`, async () => {
    const h = await load();
    assert.equal(h.configure(typeof cfg === 'string' ? cfg : JSON.stringify(cfg)), false);
    const line = h.logs.find((l) => l.message.startsWith('cellauth: configuration refused: '));
    assert.ok(line, 'one clear log line');
    assert.equal(line!.levelName, 'error');
    assert.match(line!.message, why);
    // Cross-references and key material are beyond what a JSON Schema can say.
    const schemaCan = !['inline JWKS with no usable key', 'bad template', 'rule names unknown provider'].includes(name);
    if (typeof cfg !== 'string' && schemaCan) {
      assert.equal(validate(cfg), false, `the JSON Schema refuses it too: ${name}`);
    }
  });
}

test('a good config passes both the filter and the JSON Schema', async () => {
  const h = await load();
  assert.equal(h.configure(good), true);
  assert.equal(validate(good), true, JSON.stringify(validate.errors));
});

test('signature validation off needs an acknowledgement and warns at every configure', async () => {
  const h = await load();
  const cfg = { ...good, enableSignatureValidation: false, insecureAcknowledgeSignatureValidationDisabled: true };
  assert.equal(h.configure(cfg), true);
  assert.equal(h.configure(cfg), true);
  const warnings = h.logs.filter((l) => l.levelName === 'warn' && /INSECURE: signature validation is disabled/.test(l.message));
  assert.equal(warnings.length, 2);
  assert.equal(validate(cfg), true);
});

test('JWKS as a JSON string (Istio style) is accepted', async () => {
  const h = await load();
  assert.equal(h.configure({ ...good, jwtRules: [{ issuer: ISS, jwks: JSON.stringify({ keys: [key.jwk] }) }] }), true);
});
