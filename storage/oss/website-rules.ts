/**
 * Ferry's mirroring-based back-to-origin rule inside an OSS bucket website configuration (the XML of
 * PutBucketWebsite/GetBucketWebsite): add it next to the rules a bucket already has, find it, take it out.
 * Pure functions on XML text, parsed and rebuilt with xml2js (the XML library ali-oss itself uses).
 *
 * Ferry's rule is recognised by the header it sets on origin requests, {@link FERRY_RULE_HEADER} (OSS rules have no
 * name or description field); it takes the next RuleNumber after the bucket's own rules, so those keep matching first.
 */
import { Builder, parseStringPromise, type XmlElement } from 'xml2js';
import { InvalidConfigError } from '../../common/errors';

/** Set (MirrorHeaders/Set) on every origin request of Ferry's rule: marks the rule as Ferry's, and tells the origin's logs. */
export const FERRY_RULE_HEADER = 'x-ferry-back-to-origin';

/** OSS accepts at most this many routing rules per bucket. */
export const MAX_ROUTING_RULES = 20;

/** What Ferry's rule does. */
export interface MirrorRuleSpec {
  /**
   * Where a missing key is fetched from: `http(s)://…/`, ending in `/`. OSS requests `originUrl` + the key (without
   * `keyPrefix` when one is given).
   */
  originUrl: string;
  /** Only keys under this prefix (the destination's prefix) are fetched; it is cut off the key before fetching. */
  keyPrefix?: string;
  /** Pass the reader's query string on to the origin (default false). */
  passQueryString?: boolean;
}

/** A website configuration with Ferry's rule added. */
export interface WithFerryRule {
  xml: string;
  /** Ferry's `<RoutingRule>` alone, as XML. */
  rule: string;
  ruleNumber: number;
}

const ROOT = 'WebsiteConfiguration';
const builder = new Builder({ xmldec: { version: '1.0', encoding: 'UTF-8' }, renderOpts: { pretty: false } });
const fragmentBuilder = new Builder({ headless: true, renderOpts: { pretty: false } });

function child(el: XmlElement | undefined, name: string): XmlElement | undefined {
  const c = el?.[name]?.[0];
  return typeof c === 'object' ? c : undefined;
}

function text(el: XmlElement | undefined, name: string): string | undefined {
  const c = el?.[name]?.[0];
  return typeof c === 'string' ? c : undefined;
}

function elements(el: XmlElement | undefined, name: string): XmlElement[] {
  return (el?.[name] ?? []).filter((c): c is XmlElement => typeof c === 'object');
}

/** The `<WebsiteConfiguration>` element of `xml`. Throws InvalidConfigError when the bucket's configuration is not one. */
async function parseConfig(xml: string): Promise<XmlElement> {
  let doc: Record<string, XmlElement | string>;
  try {
    doc = await parseStringPromise(xml);
  } catch (e) {
    throw new InvalidConfigError([`destination: the bucket's website configuration is not XML (${(e as Error).message.split('\n')[0]})`]);
  }
  const root = doc[ROOT];
  if (root === undefined) throw new InvalidConfigError([`destination: the bucket's website configuration has no <${ROOT}> root`]);
  return typeof root === 'object' ? root : {};
}

function rulesOf(config: XmlElement): XmlElement[] {
  return elements(child(config, 'RoutingRules'), 'RoutingRule');
}

/** Whether `rule` is a Ferry back-to-origin rule. */
function isFerryRule(rule: XmlElement): boolean {
  const headers = child(child(rule, 'Redirect'), 'MirrorHeaders');
  return elements(headers, 'Set').some((s) => text(s, 'Key')?.toLowerCase() === FERRY_RULE_HEADER);
}

function render(config: XmlElement): string {
  return builder.buildObject({ [ROOT]: config });
}

/** Ferry's rule as OSS documents a mirror rule (element order as in the API reference). */
function ferryRule(spec: MirrorRuleSpec, ruleNumber: number): XmlElement {
  if (!/^https?:\/\/[^/]+(\/.*)?\/$/i.test(spec.originUrl)) {
    throw new InvalidConfigError([`originUrl: "${spec.originUrl}" must be an http(s) URL ending in "/" (OSS appends the key to it)`]);
  }
  const condition: XmlElement = {};
  if (spec.keyPrefix) condition.KeyPrefixEquals = [spec.keyPrefix];
  condition.HttpErrorCodeReturnedEquals = ['404'];
  const redirect: XmlElement = { RedirectType: ['Mirror'], MirrorURL: [spec.originUrl] };
  // An empty ReplaceKeyPrefixWith with EnableReplacePrefix cuts the destination prefix off the key.
  if (spec.keyPrefix) redirect.EnableReplacePrefix = ['true'];
  redirect.MirrorPassQueryString = [spec.passQueryString ? 'true' : 'false'];
  redirect.MirrorFollowRedirect = ['true'];
  redirect.MirrorCheckMd5 = ['true'];
  redirect.MirrorHeaders = [{ PassAll: ['false'], Set: [{ Key: [FERRY_RULE_HEADER], Value: ['1'] }] }];
  return { RuleNumber: [String(ruleNumber)], Condition: [condition], Redirect: [redirect] };
}

/** `config` without Ferry's rules; `null` when nothing else is left (the bucket had no configuration before Ferry). */
function stripped(config: XmlElement): XmlElement | null {
  const kept = rulesOf(config).filter((r) => !isFerryRule(r));
  const out: XmlElement = {};
  for (const [name, value] of Object.entries(config)) {
    if (name !== 'RoutingRules') out[name] = value;
    else if (kept.length) out[name] = [{ ...child(config, 'RoutingRules'), RoutingRule: kept }];
  }
  const meaningful = Object.keys(out).some((name) => name === 'IndexDocument' || name === 'ErrorDocument' || name === 'RoutingRules');
  return meaningful ? out : null;
}

/** Ferry's rule in `xml`, as XML, or undefined. */
export async function findFerryRule(xml: string | null): Promise<string | undefined> {
  if (xml === null) return undefined;
  const rule = rulesOf(await parseConfig(xml)).find(isFerryRule);
  return rule ? fragmentBuilder.buildObject({ RoutingRule: rule }) : undefined;
}

/** `xml` without Ferry's rules (rebuilt), or `null` when only Ferry's rules made it a configuration. */
export async function withoutFerryRule(xml: string): Promise<string | null> {
  const config = stripped(await parseConfig(xml));
  return config ? render(config) : null;
}

/**
 * `xml` (or no configuration) with Ferry's rule added after every rule it holds, under the next free RuleNumber; a
 * Ferry rule already there is replaced. Throws InvalidConfigError for a bad origin URL or when the bucket already
 * has {@link MAX_ROUTING_RULES} rules of its own.
 */
export async function withFerryRule(xml: string | null, spec: MirrorRuleSpec): Promise<WithFerryRule> {
  const config = xml === null ? {} : (stripped(await parseConfig(xml)) ?? {});
  const own = rulesOf(config);
  if (own.length >= MAX_ROUTING_RULES) {
    throw new InvalidConfigError([`destination: the bucket already has ${own.length} website routing rules, the most OSS allows; remove one to make room for back-to-origin`]);
  }
  const ruleNumber = own.reduce((max, r) => Math.max(max, Number(text(r, 'RuleNumber')) || 0), 0) + 1;
  const rule = ferryRule(spec, ruleNumber);
  const rules = child(config, 'RoutingRules');
  const out: XmlElement = { ...config, RoutingRules: [{ ...rules, RoutingRule: [...own, rule] }] };
  return { xml: render(out), rule: fragmentBuilder.buildObject({ RoutingRule: rule }), ruleNumber };
}
