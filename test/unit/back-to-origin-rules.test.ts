// Unit tests of Ferry's back-to-origin rule in OSS website XML (storage/oss/website-rules.ts) and the default origin URL.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseStringPromise } from 'xml2js';
import { FERRY_RULE_HEADER, findFerryRule, withFerryRule, withoutFerryRule } from '../../storage/oss/website-rules';
import { defaultOriginUrl } from '../../common/origin-url';
import { InvalidConfigError } from '../../common/errors';

/** The value at `path` inside parsed XML. */
const pick = (value: unknown, ...path: (string | number)[]): unknown => path.reduce((v, k) => (v as Record<string | number, unknown> | undefined)?.[k], value);

const OWN = `<?xml version="1.0" encoding="UTF-8"?>
<WebsiteConfiguration>
  <IndexDocument><Suffix>index.html</Suffix></IndexDocument>
  <RoutingRules>
    <RoutingRule><RuleNumber>7</RuleNumber><Condition><KeyPrefixEquals>a&amp;b/</KeyPrefixEquals><HttpErrorCodeReturnedEquals>404</HttpErrorCodeReturnedEquals></Condition>
      <Redirect><RedirectType>Mirror</RedirectType><MirrorURL>https://other.example/</MirrorURL></Redirect></RoutingRule>
    <RoutingRule><RuleNumber>2</RuleNumber><Condition><KeyPrefixEquals>old/</KeyPrefixEquals></Condition><Redirect><RedirectType>External</RedirectType><HostName>example.com</HostName></Redirect></RoutingRule>
  </RoutingRules>
</WebsiteConfiguration>`;

test("withFerryRule adds one rule after the bucket's own, escaped, and withoutFerryRule takes only it out", async () => {
  const prefix = 'to/<ü & "x">/';
  const added = await withFerryRule(OWN, { originUrl: 'https://src.example/a%20b/', keyPrefix: prefix, passQueryString: true });
  assert.equal(added.ruleNumber, 8, 'after the highest RuleNumber in use');
  const rules = pick(await parseStringPromise(added.xml), 'WebsiteConfiguration', 'RoutingRules', 0, 'RoutingRule') as unknown[];
  assert.equal(rules.length, 3);
  assert.deepEqual(pick(rules, 2, 'Condition', 0), { KeyPrefixEquals: [prefix], HttpErrorCodeReturnedEquals: ['404'] });
  const redirect = pick(rules, 2, 'Redirect', 0);
  assert.equal(pick(redirect, 'MirrorURL', 0), 'https://src.example/a%20b/');
  assert.equal(pick(redirect, 'EnableReplacePrefix', 0), 'true');
  assert.equal(pick(redirect, 'MirrorPassQueryString', 0), 'true');
  assert.equal(pick(redirect, 'MirrorHeaders', 0, 'Set', 0, 'Key', 0), FERRY_RULE_HEADER);
  assert.equal(await findFerryRule(added.xml), added.rule);
  assert.equal(await findFerryRule(OWN), undefined);

  const again = await withFerryRule(added.xml, { originUrl: 'https://src.example/a%20b/', keyPrefix: prefix, passQueryString: true });
  assert.equal(again.xml, added.xml, 'adding twice replaces, never duplicates');
  assert.deepEqual(await parseStringPromise((await withoutFerryRule(added.xml))!), await parseStringPromise(OWN.replace(/>\s+</g, '><')));
});

test('a configuration that only held Ferry\'s rule strips to none; bad origins and full tables are refused', async () => {
  const only = await withFerryRule(null, { originUrl: 'http://127.0.0.1:9000/bucket/' });
  assert.equal(only.ruleNumber, 1);
  assert.equal(await withoutFerryRule(only.xml), null);
  for (const originUrl of ['http://127.0.0.1:9000/bucket', 'ftp://x/', '/relative/']) {
    await assert.rejects(withFerryRule(null, { originUrl }), InvalidConfigError);
  }
  const full = `<WebsiteConfiguration><RoutingRules>${Array.from({ length: 20 }, (_, i) => `<RoutingRule><RuleNumber>${i + 1}</RuleNumber><Redirect><RedirectType>External</RedirectType></Redirect></RoutingRule>`).join('')}</RoutingRules></WebsiteConfiguration>`;
  await assert.rejects(withFerryRule(full, { originUrl: 'http://o/' }), /20 website routing rules/);
  await assert.rejects(withFerryRule('<NotWebsite/>', { originUrl: 'http://o/' }), InvalidConfigError);
  await assert.rejects(withFerryRule('not xml <', { originUrl: 'http://o/' }), InvalidConfigError);
});

test('defaultOriginUrl: the public URL of an s3/oss source with its prefix, none for fs/http', () => {
  assert.equal(defaultOriginUrl({ type: 's3', endpoint: 'http://127.0.0.1:9000', bucket: 'photos', prefix: '2024 a/' }), 'http://127.0.0.1:9000/photos/2024%20a/');
  assert.equal(defaultOriginUrl({ type: 's3', endpoint: 'https://cos.ap-guangzhou.myqcloud.com', bucket: 'b-1250000000', forcePathStyle: false }), 'https://b-1250000000.cos.ap-guangzhou.myqcloud.com/');
  assert.equal(defaultOriginUrl({ type: 's3', region: 'ap-northeast-1', bucket: 'tokyo' }), 'https://tokyo.s3.ap-northeast-1.amazonaws.com/');
  assert.equal(defaultOriginUrl({ type: 'oss', endpoint: 'https://oss-cn-hangzhou.aliyuncs.com', bucket: 'hz', prefix: 'x+y/' }), 'https://hz.oss-cn-hangzhou.aliyuncs.com/x%2By/');
  assert.equal(defaultOriginUrl({ type: 'oss', region: 'cn-beijing', bucket: 'bj' }), 'https://bj.oss-cn-beijing.aliyuncs.com/');
  assert.equal(defaultOriginUrl({ type: 's3', endpoint: 'http://127.0.0.1:9000', bucket: 'photos', prefix: 'no-slash' }), undefined);
  assert.equal(defaultOriginUrl({ type: 'fs', path: '/data' }), undefined);
  assert.equal(defaultOriginUrl({ type: 'http', list: 'urls.txt' }), undefined);
});
